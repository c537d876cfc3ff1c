"""`manage.py import_codes`: same counts and row errors as the page; the exit
status says whether anything was imported."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.models import CardBatch, CardCode
from tests.catalog.factories import make_sku

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def run(*args):
    out = StringIO()
    call_command("import_codes", *args, stdout=out)
    return out.getvalue()


def test_dry_run_writes_nothing_then_import_then_repeat_fails(tmp_path):
    sku = make_sku("CLI-10")
    path = tmp_path / "codes.csv"
    path.write_bytes("卡号,密码\r\nCLI00001,p\r\nCLI00002,p\r\nx,y\r\n".encode("gbk"))

    out = run("--sku", "CLI-10", str(path), "--dry-run")
    assert "rows=3 imported=0 new=2 duplicates=0 rejected=1" in out
    assert "row 4: rejected" in out
    assert not CardBatch.objects.exists()

    out = run("--sku", "CLI-10", str(path))
    assert "imported=2" in out
    sku.refresh_from_db()
    assert sku.stock == 2 and CardCode.objects.count() == 2

    with pytest.raises(CommandError):
        run("--sku", "CLI-10", str(path))  # only duplicates now: nothing imported
    sku.refresh_from_db()
    assert sku.stock == 2


def test_bad_file_and_unknown_sku_fail(tmp_path):
    make_sku("CLI-10")
    path = tmp_path / "x.pdf"
    path.write_bytes(b"%PDF")
    with pytest.raises(CommandError, match="rejected"):
        run("--sku", "CLI-10", str(path))
    with pytest.raises(CommandError, match="No SKU"):
        run("--sku", "NOPE", str(path))
