"""Card-code import: preview, commit (task), stock, duplicates, voiding."""

import io
import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from openpyxl import Workbook

from catalog.imports.errors import FileRejected, ImportStateError
from catalog.models import CardBatch, CardCode, Sku
from catalog.selectors.imports import batch_progress
from catalog.services.card_batches import (
    commit_card_batch,
    discard_card_batch,
    preview_card_batch,
    run_card_batch,
    void_card_batch,
)
from catalog.tasks.imports import enqueue_card_batch_import, sweep_card_batches_task
from kameng import crypto
from tests.catalog.factories import make_sku

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_and_english(settings, tmp_path):
    """Files under a temporary MEDIA_ROOT; messages asserted in English."""
    settings.MEDIA_ROOT = tmp_path
    with translation.override("en"):
        yield


def upload(name: str, content: bytes | str, encoding="utf-8"):
    if isinstance(content, str):
        content = content.encode(encoding)
    return SimpleUploadedFile(name, content)


def xlsx(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def import_file(sku, name, content, actor=None, **kwargs):
    """Preview, commit and run the task's body, as the worker would."""
    batch = preview_card_batch(
        sku=sku, upload=upload(name, content, **kwargs), actor=actor
    )
    commit_card_batch(batch=batch, actor=actor)
    return run_card_batch(batch_id=batch.pk)


def test_csv_with_chinese_header_and_crlf_imports_codes_and_moves_stock(
    django_capture_on_commit_callbacks,
):
    sku = make_sku()
    content = "卡号,密码\r\nAAAA1111,pw1\r\nBBBB2222,pw2  \r\n\r\n"
    batch = preview_card_batch(sku=sku, upload=upload("codes.csv", content), actor=None)
    assert batch.status == CardBatch.Status.PREVIEWED
    assert (batch.total_rows, batch.duplicates, batch.rejected) == (2, 0, 0)
    assert not CardCode.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        commit_card_batch(batch=batch, actor=None)
        enqueue_card_batch_import(batch.pk)

    batch.refresh_from_db()
    sku.refresh_from_db()
    assert batch.status == CardBatch.Status.DONE
    assert batch.imported == 2 and sku.stock == 2
    texts = sorted(crypto.decrypt(c.secret) for c in CardCode.objects.all())
    assert texts == ["AAAA1111 pw1", "BBBB2222 pw2"]
    code = CardCode.objects.get(hint=crypto.mask("AAAA1111 pw1"))
    assert code.code_hash == crypto.code_hash("AAAA1111 pw1")
    assert code.key_version == crypto.current_key_version()
    assert batch_progress(batch) == (2, 100)
    assert not batch.upload  # the plaintext file is gone once imported


def test_gbk_csv_with_bom_less_header(django_capture_on_commit_callbacks):
    sku = make_sku()
    content = "卡号,密码\r\nGBK00001,密码不是ascii\r\nGBK00002,abc\r\n"
    batch = preview_card_batch(
        sku=sku, upload=upload("gbk.csv", content, encoding="gbk"), actor=None
    )
    assert batch.total_rows == 2
    assert batch.rejected == 1
    assert batch.errors[0]["row"] == 2
    assert batch.errors[0]["field"] == "password"


def test_utf8_bom_txt_with_every_separator():
    sku = make_sku()
    content = "\ufeffAAAA0001 p1\nAAAA0002,p2\nAAAA0003\tp3\nAAAA0004----p4\nAAAA0005\n"
    with_commit = preview_card_batch(
        sku=sku, upload=upload("codes.txt", content), actor=None
    )
    assert (with_commit.total_rows, with_commit.rejected) == (5, 0)


def test_duplicates_within_file_and_against_database_are_counted_and_skipped():
    sku = make_sku()
    import_file(sku, "first.txt", "DUPL0001\nDUPL0002\n")
    batch = import_file(sku, "second.txt", "DUPL0001\nNEW00001\nNEW00001\n")
    sku.refresh_from_db()
    assert (batch.imported, batch.duplicates, batch.rejected) == (1, 2, 0)
    assert sku.stock == 3
    reasons = [error["reason"] for error in batch.errors]
    assert any("batch #" in reason for reason in reasons)
    assert any("row 2" in reason for reason in reasons)
    assert batch.error_report


def test_full_width_and_spacing_variants_are_the_same_code():
    sku = make_sku()
    import_file(sku, "a.txt", "ABCD1234  pass\n")
    batch = preview_card_batch(
        sku=sku, upload=upload("b.txt", "ＡＢＣＤ１２３４,pass\n"), actor=None
    )
    assert batch.duplicates == 1


def test_xlsx_with_numbers_and_bad_rows():
    sku = make_sku()
    content = xlsx(
        [
            ["卡号", "密码"],
            [123456789012, "pw"],
            [12345678901234567890, "pw"],
            ["示例-AAAA", "x"],
            ["AB", "x"],
            ["GOOD CODE", "x"],
            [None, None],
            ["OKAY0001", None],
        ]
    )
    batch = import_file(sku, "codes.xlsx", content)
    errors = {error["row"]: error for error in batch.errors}
    assert batch.imported == 2
    assert set(errors) == {3, 4, 5, 6}
    assert "15 digits" in errors[3]["reason"]
    assert "example" in errors[4]["reason"]
    assert "space" in errors[6]["reason"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty"),
        ("only-header.csv", "卡号,密码\r\n".encode(), "no codes"),
        ("wrong.csv", "订单号,金额\n1,2\n".encode(), "订单号"),
        ("extra.csv", "卡号,密码,金额\nAAAA1111,1,2\n".encode(), "金额"),
        ("picture.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not a text file"),
        ("codes.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
        ("fake.xlsx", b"hello", "not an Excel"),
        ("broken.xlsx", b"PK\x03\x04garbage", "not a valid Excel"),
        ("codes.pdf", b"%PDF-1.4", "pdf"),
        ("long.txt", ("A" * 10_000 + "\n").encode(), "10000 characters"),
        (
            "mixed.txt",
            "卡号\n".encode() + "密码AAAA\n".encode("gbk"),
            "mixes encodings",
        ),
        ("latin1.txt", b"AAAA1111\n\xff\xfe\xfd\n", "neither UTF-8 nor GBK"),
    ],
)
def test_bad_files_are_rejected_and_change_nothing(name, content, message):
    sku = make_sku()
    with pytest.raises(FileRejected) as excinfo:
        preview_card_batch(sku=sku, upload=upload(name, content), actor=None)
    assert message in str(excinfo.value)
    assert not CardBatch.objects.exists()


def test_formula_cell_is_rejected():
    sku = make_sku()
    content = xlsx([["卡号"], ["AAAA1111"], ['=A2&"X"']])
    with pytest.raises(FileRejected, match="A3"):
        preview_card_batch(sku=sku, upload=upload("f.xlsx", content), actor=None)


def test_file_over_the_size_limit_is_rejected(settings):
    settings.CARD_IMPORT_MAX_BYTES = 100
    sku = make_sku()
    with pytest.raises(FileRejected, match="limit"):
        preview_card_batch(
            sku=sku, upload=upload("big.txt", "AAAA1111\n" * 50), actor=None
        )


def test_topup_sku_takes_no_codes():
    sku = make_sku(delivery_type=Sku.DeliveryType.TOPUP)
    with pytest.raises(FileRejected, match="card"):
        preview_card_batch(sku=sku, upload=upload("a.txt", "AAAA1111\n"), actor=None)


def test_reusable_sku_accepts_exactly_one_available_code():
    sku = make_sku(reusable_code=True)
    with pytest.raises(FileRejected, match="one"):
        preview_card_batch(
            sku=sku, upload=upload("two.txt", "AAAA1111\nBBBB2222\n"), actor=None
        )
    import_file(sku, "one.txt", "AAAA1111\n")
    with pytest.raises(FileRejected, match="one"):
        preview_card_batch(sku=sku, upload=upload("b.txt", "BBBB2222\n"), actor=None)
    sku.refresh_from_db()
    assert sku.stock == 1


def test_commit_is_idempotent_and_task_is_a_noop_unless_queued():
    sku = make_sku()
    batch = import_file(sku, "a.txt", "AAAA1111\n")
    with pytest.raises(ImportStateError):
        commit_card_batch(batch=batch, actor=None)
    run_card_batch(batch_id=batch.pk)
    sku.refresh_from_db()
    assert sku.stock == 1 and CardCode.objects.count() == 1


def test_import_failure_rolls_everything_back(monkeypatch):
    sku = make_sku()
    batch = preview_card_batch(
        sku=sku, upload=upload("a.txt", "AAAA1111\nBBBB2222\n"), actor=None
    )
    commit_card_batch(batch=batch, actor=None)

    def explode(text):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(crypto, "encrypt", explode)
    result = run_card_batch(batch_id=batch.pk)
    sku.refresh_from_db()
    assert result.status == CardBatch.Status.FAILED
    assert "nothing was imported" in result.failure
    assert not CardCode.objects.exists() and sku.stock == 0


def test_void_takes_unsold_codes_off_stock(django_user_model):
    sku = make_sku()
    actor = django_user_model.objects.create_user("op", password="x")
    batch = import_file(sku, "a.txt", "AAAA1111\nBBBB2222\nCCCC3333\n")
    sold = CardCode.objects.filter(batch=batch).first()
    CardCode.objects.filter(pk=sold.pk).update(status="sold", order_ref="X1")
    Sku.objects.filter(pk=sku.pk).update(stock=2)

    void_card_batch(batch=batch, actor=actor)

    batch.refresh_from_db()
    sku.refresh_from_db()
    assert batch.status == CardBatch.Status.VOIDED and batch.voided == 2
    assert batch.voided_by == actor
    assert sku.stock == 0
    assert CardCode.objects.filter(status="sold").count() == 1
    with pytest.raises(ImportStateError):
        void_card_batch(batch=batch, actor=actor)


def test_discard_removes_a_previewed_batch():
    sku = make_sku()
    batch = preview_card_batch(
        sku=sku, upload=upload("a.txt", "AAAA1111\n"), actor=None
    )
    discard_card_batch(batch=batch, actor=None)
    assert not CardBatch.objects.exists()


def test_admin_lists_codes_masked_and_read_only(client, role_user):
    sku = make_sku()
    import_file(sku, "a.txt", "SECRETCODE1234 pw\n")
    client.force_login(role_user("operations"))
    page = client.get("/admin/catalog/cardcode/").content.decode()
    assert crypto.mask("SECRETCODE1234 pw") in page
    assert "SECRETCODE1234" not in page
    assert client.get("/admin/catalog/cardcode/add/").status_code == 403
    code = CardCode.objects.get()
    detail = client.get(f"/admin/catalog/cardcode/{code.pk}/change/").content.decode()
    assert code.secret not in detail and code.code_hash not in detail
    batches = client.get("/admin/catalog/cardbatch/").content.decode()
    assert f"/admin/catalog/imports/batches/{code.batch_id}/" in batches
    filtered = client.get(f"/admin/catalog/cardcode/?sku={sku.pk}&status=available")
    assert filtered.status_code == 200


def test_sweeper_requeues_lost_batches_and_drops_stale_previews(
    django_capture_on_commit_callbacks,
):
    sku = make_sku()
    lost = preview_card_batch(sku=sku, upload=upload("a.txt", "LOST0001\n"), actor=None)
    commit_card_batch(batch=lost, actor=None)  # message never sent
    stale = preview_card_batch(
        sku=sku, upload=upload("b.txt", "STALE001\n"), actor=None
    )
    stale_file = stale.upload.path
    old = timezone.now() - timedelta(days=2)
    CardBatch.objects.filter(pk__in=[lost.pk, stale.pk]).update(created_at=old)

    with django_capture_on_commit_callbacks(execute=True):
        result = sweep_card_batches_task()

    assert result == {"rechecked": 0, "requeued": 1, "discarded": 1, "failed": 0}
    lost.refresh_from_db()
    assert lost.status == CardBatch.Status.DONE and lost.imported == 1
    assert not CardBatch.objects.filter(pk=stale.pk).exists()
    assert not os.path.exists(stale_file)
