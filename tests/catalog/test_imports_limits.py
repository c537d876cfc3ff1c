"""Hostile or oversized code files are refused before they cost memory or time,
with a message that says what is wrong, and leave nothing behind."""

import csv
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from catalog.imports.errors import FileRejected, RowError
from catalog.models import CardBatch, CardCode
from catalog.services.card_batches import (
    ErrorReport,
    check_card_batch,
    preview_card_batch,
    upload_card_batch,
)
from tests.catalog.factories import make_sku

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_and_english(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with translation.override("en"):
        yield


def stored_files(settings) -> list:
    return [path for path in settings.MEDIA_ROOT.rglob("*") if path.is_file()]


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_member(content: bytes, name: str, chunks, others=None) -> bytes:
    """The workbook `content` with member `name` replaced by the bytes of
    `chunks`, written in pieces (the test never holds it whole), and the
    members in `others` ({path: bytes}) replaced or added."""
    replaced = dict(others or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                if info.filename == name:
                    continue
                target.writestr(info, replaced.pop(info.filename, source.read(info)))
            for extra, data in replaced.items():
                target.writestr(extra, data)
            with target.open(name, "w", force_zip64=True) as member:
                for chunk in chunks:
                    member.write(chunk)
    return buffer.getvalue()


RELS = (
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.'
    b'org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"'
    b'/><Relationship Id="rId9" Type="http://schemas.openxmlformats.org/'
    b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    b"</Relationships>"
)
SHARED_SHEET = (
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    b'<row r="2"><c r="A2" t="s"><v>1</v></c></row></sheetData></worksheet>'
)


def zip_bomb(member_bytes: int) -> bytes:
    """A real workbook plus one highly compressible member of `member_bytes`
    zeros, written in chunks (the test never holds it in memory)."""
    chunk = b"\0" * (1 << 20)
    return with_member(
        xlsx([["AAAA1111"]]),
        "xl/media/padding.bin",
        (chunk for _ in range(member_bytes // len(chunk))),
    )


def test_zip_bomb_is_refused_at_upload_before_a_worker_reads_it(settings):
    settings.CARD_IMPORT_MAX_UNCOMPRESSED_BYTES = 4 * 1024 * 1024
    content = zip_bomb(8 * 1024 * 1024)
    assert len(content) < 100 * 1024  # small on the wire, 8 MB unpacked
    with pytest.raises(FileRejected, match="Unpacked, this workbook is 8.0"):
        upload_card_batch(
            sku=make_sku(),
            upload=SimpleUploadedFile("bomb.xlsx", content),
            actor=None,
        )
    assert not CardBatch.objects.exists()
    assert not stored_files(settings)


def test_zip_bomb_upload_page_explains_the_limit(client, role_user, settings):
    settings.CARD_IMPORT_MAX_UNCOMPRESSED_BYTES = 4 * 1024 * 1024
    sku = make_sku()
    client.force_login(role_user("operations"))
    response = client.post(
        reverse("catalog:import_codes"),
        {"sku": sku.pk, "file": SimpleUploadedFile("b.xlsx", zip_bomb(8 << 20))},
    )
    assert response.status_code == 200
    # The back office speaks Chinese: "unpacked, this workbook is 8.0 MB".
    assert "该工作簿解压后为 8.0" in response.content.decode()
    assert not CardBatch.objects.exists()


def test_one_huge_shared_string_is_refused_by_the_unpacked_size(settings):
    """The reported attack: a small xlsx whose one cell unpacks to far more than
    any code file; refused from the zip directory, before any XML is read."""
    settings.CARD_IMPORT_MAX_UNCOMPRESSED_BYTES = 1024 * 1024
    huge = (b"A" * (1 << 20) for _ in range(3))
    content = with_member(
        xlsx([["卡号"], ["AAAA1111"]]),
        "xl/sharedStrings.xml",
        [
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b"<si><t>\xe5\x8d\xa1\xe5\x8f\xb7</t></si><si><t>",
            *huge,
            b"</t></si></sst>",
        ],
    )
    assert len(content) < 64 * 1024
    with pytest.raises(FileRejected, match="Unpacked"):
        preview_card_batch(
            sku=make_sku(), upload=SimpleUploadedFile("c.xlsx", content), actor=None
        )
    assert not CardBatch.objects.exists() and not stored_files(settings)


def test_long_cell_under_the_size_limit_names_its_cell_and_row():
    sku = make_sku()
    content = xlsx([["卡号"], ["AAAA1111"], ["B" * 1500]])
    batch = upload_card_batch(
        sku=sku, upload=SimpleUploadedFile("c.xlsx", content), actor=None
    )
    batch = check_card_batch(batch_id=batch.pk)
    assert batch.status == CardBatch.Status.FAILED
    assert "Cell A3 (row 3) holds more than 1000 characters" in batch.failure
    assert not batch.upload and not CardCode.objects.exists()


@pytest.mark.parametrize("fmt", ["txt", "csv", "xlsx"])
def test_too_many_rows_are_refused_and_nothing_is_kept(settings, fmt):
    settings.CARD_IMPORT_MAX_ROWS = 5
    rows = [f"ROWS{n:04d}" for n in range(6)]
    if fmt == "xlsx":
        content = xlsx([[row] for row in rows])
    else:
        content = "".join(f"{row}\n" for row in rows).encode()
    sku = make_sku()
    batch = upload_card_batch(
        sku=sku, upload=SimpleUploadedFile(f"codes.{fmt}", content), actor=None
    )
    batch = check_card_batch(batch_id=batch.pk)
    assert batch.status == CardBatch.Status.FAILED
    assert "more than 5 rows (row 6 is one too many)" in batch.failure
    assert batch.total_rows == 0 and not batch.errors
    assert not CardCode.objects.exists()
    assert not stored_files(settings)


def test_exactly_the_row_limit_is_accepted(settings):
    settings.CARD_IMPORT_MAX_ROWS = 5
    content = "".join(f"ROWS{n:04d}\n" for n in range(5)).encode()
    batch = preview_card_batch(
        sku=make_sku(), upload=SimpleUploadedFile("codes.txt", content), actor=None
    )
    assert batch.status == CardBatch.Status.PREVIEWED and batch.total_rows == 5


def test_error_report_lists_the_first_rows_and_counts_every_kind():
    report = ErrorReport(limit=3)
    for row in range(2, 12):
        report(RowError(row, "card number", "is too short", "rejected"))
    report(RowError(12, "card number", "repeats row 2 of this file", "duplicate"))
    batch = CardBatch.objects.create(sku=make_sku(), file_name="x", file_format="txt")
    report.attach(batch)
    report.close()
    with batch.error_report.open("rb") as stored:
        rows = list(csv.reader(io.TextIOWrapper(stored, encoding="utf-8-sig")))
    assert [row[0] for row in rows[1:4]] == ["2", "3", "4"]
    assert ["Total", "", "1", "Duplicate"] in rows
    assert ["Total", "", "10", "Rejected"] in rows
    assert rows[-1][0] == "Not listed"
    assert "8 more rows with errors; this report lists the first 3." in rows[-1][2]
    assert len(rows) == 1 + 3 + 2 + 1


def test_a_file_of_bad_rows_gives_a_bounded_report(settings):
    settings.CARD_IMPORT_REPORT_MAX_ERRORS = 50
    content = b"X\n" * 400  # every row too short
    batch = preview_card_batch(
        sku=make_sku(), upload=SimpleUploadedFile("bad.txt", content), actor=None
    )
    assert batch.rejected == 400
    with batch.error_report.open("rb") as stored:
        rows = list(csv.reader(io.TextIOWrapper(stored, encoding="utf-8-sig")))
    assert len(rows) == 1 + 50 + 2 + 1
    assert "350 more rows with errors" in rows[-1][2]


SHEET_HEAD = (
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<sheetData>"
)


@pytest.mark.parametrize("kind", ["shared", "inline"])
def test_huge_cell_under_the_size_limit_is_cut_off_and_named(kind):
    """Under the unpacked-size limit, a 3 MB cell is refused by its cell, whether
    its text is a shared string or inline in the sheet."""
    huge = [b"A" * (1 << 20)] * 3
    content = xlsx([["AAAA1111"], ["BBBB2222"]])
    if kind == "shared":
        content = with_member(
            content,
            "xl/sharedStrings.xml",
            [b"<sst><si><t>AAAA1111</t></si><si><t>", *huge, b"</t></si></sst>"],
            {
                "xl/_rels/workbook.xml.rels": RELS,
                "xl/worksheets/sheet1.xml": SHARED_SHEET,
            },
        )
    else:
        content = with_member(
            content,
            "xl/worksheets/sheet1.xml",
            [
                SHEET_HEAD,
                b'<row r="1"><c r="A1" t="inlineStr"><is><t>AAAA1111</t></is></c></row>'
                b'<row r="2"><c r="B2" t="inlineStr"><is><t>',
                *huge,
                b"</t></is></c></row></sheetData></worksheet>",
            ],
        )
    cell = "A2" if kind == "shared" else "B2"
    with pytest.raises(FileRejected, match=rf"Cell {cell} \(row 2\) holds more than"):
        preview_card_batch(
            sku=make_sku(), upload=SimpleUploadedFile("c.xlsx", content), actor=None
        )
    assert not CardBatch.objects.exists()


def test_quoted_csv_cell_over_many_short_lines_is_refused_by_its_length():
    cell = "\n".join(["A" * 50] * 40)  # 40 short lines, one 2039-character cell
    content = f'卡号,密码\nAAAA1111,"{cell}"\n'.encode()
    with pytest.raises(FileRejected, match=r"Cell B\d+ \(row \d+\) holds more than"):
        preview_card_batch(
            sku=make_sku(), upload=SimpleUploadedFile("c.csv", content), actor=None
        )
    assert not CardBatch.objects.exists()
