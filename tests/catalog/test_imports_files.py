"""Plaintext card codes never stay on disk: a batch's upload is deleted when it
ends in any state, product files waiting for a commit go when it is done or
abandoned, and a sweeper removes files that belong to no live batch."""

import io
import os
import time
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from catalog.imports.errors import FileRejected
from catalog.models import CardBatch, CardCode
from catalog.services import card_batches, product_imports
from catalog.services.card_batches import (
    check_card_batch,
    commit_card_batch,
    discard_card_batch,
    preview_card_batch,
    run_card_batch,
    upload_card_batch,
)
from catalog.tasks.imports import sweep_card_batches_task, sweep_import_files_task
from kameng import crypto
from tests.catalog.factories import make_sku

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_and_english(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with translation.override("en"):
        yield


def stored(settings) -> list[str]:
    root = settings.MEDIA_ROOT
    return sorted(
        str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()
    )


def upload(name: str, text: str):
    return SimpleUploadedFile(name, text.encode())


def age(name: str, hours: float) -> None:
    """Make a stored file look `hours` old."""
    then = time.time() - hours * 3600
    os.utime(default_storage.path(name), (then, then))


def test_imported_batch_keeps_its_report_but_not_its_upload(settings):
    sku = make_sku()
    batch = preview_card_batch(
        sku=sku, upload=upload("a.txt", "AAAA1111\nAB\n"), actor=None
    )
    commit_card_batch(batch=batch, actor=None)
    batch = run_card_batch(batch_id=batch.pk)
    assert batch.status == CardBatch.Status.DONE
    assert not batch.upload
    assert stored(settings) == [batch.error_report.name]


def test_failed_import_deletes_its_upload(settings, monkeypatch):
    sku = make_sku()
    batch = preview_card_batch(
        sku=sku, upload=upload("a.txt", "AAAA1111\n"), actor=None
    )
    commit_card_batch(batch=batch, actor=None)

    def explode(text):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(crypto, "encrypt", explode)
    batch = run_card_batch(batch_id=batch.pk)
    assert batch.status == CardBatch.Status.FAILED
    assert not batch.upload and stored(settings) == []
    assert not CardCode.objects.exists()


def test_failed_check_deletes_its_upload(settings):
    sku = make_sku()
    batch = upload_card_batch(
        sku=sku, upload=upload("a.csv", "订单号,金额\n1,2\n"), actor=None
    )
    assert stored(settings) == [batch.upload.name]
    batch = check_card_batch(batch_id=batch.pk)
    assert batch.status == CardBatch.Status.FAILED and "订单号" in batch.failure
    assert stored(settings) == []


def test_discarded_and_expired_previews_take_their_files(
    settings, django_capture_on_commit_callbacks
):
    sku = make_sku()
    discarded = preview_card_batch(
        sku=sku, upload=upload("a.txt", "AAAA1111\nAB\n"), actor=None
    )
    expired = preview_card_batch(
        sku=sku, upload=upload("b.txt", "BBBB2222\nAB\n"), actor=None
    )
    assert len(stored(settings)) == 4  # two uploads, two error reports
    with django_capture_on_commit_callbacks(execute=True):
        discard_card_batch(batch=discarded, actor=None)
    assert len(stored(settings)) == 2
    CardBatch.objects.filter(pk=expired.pk).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = sweep_card_batches_task()
    assert result["discarded"] == 1
    assert not CardBatch.objects.exists() and stored(settings) == []


def test_sweeper_removes_orphans_and_keeps_live_files(settings):
    sku = make_sku()
    live = preview_card_batch(
        sku=sku, upload=upload("live.txt", "LIVE0001\nAB\n"), actor=None
    )
    orphan = default_storage.save(
        "imports/codes/2026/01/batch-999.txt", upload("o", "X")
    )
    report = default_storage.save("imports/reports/2026/01/old.csv", upload("r", "X"))
    fresh = default_storage.save(
        "imports/codes/2026/01/batch-1000.txt", upload("f", "X")
    )
    staged = product_imports.stage_product_file(
        upload=upload("p.csv", "x"), name="p.csv"
    )
    abandoned = product_imports.stage_product_file(
        upload=upload("q.csv", "x"), name="q.csv"
    )
    for name in (orphan, report, live.upload.name, live.error_report.name):
        age(name, 3)
    age(abandoned, 25)

    result = sweep_import_files_task()

    assert result == {"code_files": 2, "product_files": 1}
    assert stored(settings) == sorted(
        [live.upload.name, live.error_report.name, fresh, staged]
    )


def test_sweeper_drops_the_upload_a_finished_batch_still_names(settings):
    """A finished batch whose upload deletion failed: the next sweep deletes it."""
    sku = make_sku()
    batch = preview_card_batch(
        sku=sku, upload=upload("a.txt", "AAAA1111\n"), actor=None
    )
    CardBatch.objects.filter(pk=batch.pk).update(status=CardBatch.Status.FAILED)
    card_batches.sweep_orphan_files()
    batch.refresh_from_db()
    assert not batch.upload and stored(settings) == []


def test_staged_product_file_is_deleted_when_the_import_is_refused(settings):
    path = product_imports.stage_product_file(
        upload=upload("p.csv", "nothing,useful\n1,2\n"), name="p.csv"
    )
    with pytest.raises(FileRejected):
        product_imports.import_staged_products(path=path, name="p.csv", actor=None)
    assert stored(settings) == []


def test_failed_command_run_leaves_nothing_behind(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    sku = make_sku("CLI-10")
    path = tmp_path / "codes.csv"
    path.write_bytes("卡号,密码\r\nCLI00001,p\r\nx,y\r\n".encode("gbk"))
    call_command("import_codes", "--sku", sku.code, str(path), stdout=io.StringIO())
    assert CardBatch.objects.count() == 1
    files_after_import = stored(settings)

    with (
        translation.override("zh-hans"),
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(CommandError) as excinfo,
    ):
        call_command("import_codes", "--sku", sku.code, str(path), stdout=io.StringIO())

    assert "本文件没有新增卡密" in str(excinfo.value)
    assert CardBatch.objects.count() == 1  # only the first, imported batch
    assert stored(settings) == files_after_import  # no upload, no new report


def test_rejected_command_file_leaves_nothing_behind(settings, tmp_path):
    sku = make_sku("CLI-10")
    path = tmp_path / "codes.csv"
    path.write_bytes("订单号,金额\n1,2\n".encode())
    with pytest.raises(CommandError, match="rejected"):
        call_command("import_codes", "--sku", sku.code, str(path))
    assert not CardBatch.objects.exists() and stored(settings) == []


def test_sweeper_resends_a_lost_check_but_not_one_still_running(
    settings, django_capture_on_commit_callbacks
):
    sku = make_sku()
    lost = upload_card_batch(sku=sku, upload=upload("a.txt", "LOST0001\n"), actor=None)
    running = upload_card_batch(
        sku=sku, upload=upload("b.txt", "RUNS0001\n"), actor=None
    )
    now = timezone.now()
    CardBatch.objects.filter(pk=lost.pk).update(created_at=now - timedelta(minutes=30))
    CardBatch.objects.filter(pk=running.pk).update(
        created_at=now - timedelta(minutes=10)
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = sweep_card_batches_task()
    assert result["rechecked"] == 1
    lost.refresh_from_db()
    running.refresh_from_db()
    assert lost.status == CardBatch.Status.PREVIEWED and lost.total_rows == 1
    assert running.status == CardBatch.Status.CHECKING


def test_sweeper_fails_batches_whose_worker_died_and_drops_their_uploads(
    settings, django_capture_on_commit_callbacks
):
    sku = make_sku()
    check = upload_card_batch(sku=sku, upload=upload("a.txt", "DEAD0001\n"), actor=None)
    dead = preview_card_batch(sku=sku, upload=upload("b.txt", "DEAD0002\n"), actor=None)
    alive = preview_card_batch(
        sku=sku, upload=upload("c.txt", "LIVE0003\n"), actor=None
    )
    now = timezone.now()
    CardBatch.objects.filter(pk=check.pk).update(created_at=now - timedelta(hours=3))
    CardBatch.objects.filter(pk=dead.pk).update(
        status=CardBatch.Status.IMPORTING, started_at=now - timedelta(hours=3)
    )
    CardBatch.objects.filter(pk=alive.pk).update(
        status=CardBatch.Status.IMPORTING, started_at=now - timedelta(minutes=10)
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = sweep_card_batches_task()

    assert result["failed"] == 2
    check.refresh_from_db()
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert check.status == dead.status == CardBatch.Status.FAILED
    assert "did not finish" in check.failure and "did not finish" in dead.failure
    assert not check.upload and not dead.upload
    assert alive.status == CardBatch.Status.IMPORTING and alive.upload
    assert alive.upload.name in stored(settings)
    assert check.upload.name not in stored(settings)
