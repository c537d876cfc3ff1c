"""File readers: what suppliers' tools export reads the same in every format."""

import datetime
import io
import zipfile

import pytest
from django.utils import translation
from openpyxl import Workbook

from catalog.imports.codes import ParsedCode, parse_code_rows
from catalog.imports.errors import FileRejected, RowError
from catalog.imports.readers import iter_rows


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def parsed(content: bytes, fmt: str):
    return list(parse_code_rows(iter_rows(io.BytesIO(content), fmt), fmt))


def texts(items):
    return [item.text for item in items if isinstance(item, ParsedCode)]


def xlsx(rows, *, write_only=False) -> bytes:
    book = Workbook(write_only=write_only)
    sheet = book.create_sheet("s") if write_only else book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("write_only", [False, True])  # shared vs inline strings
def test_xlsx_rows_keep_their_numbers_across_blank_rows(write_only):
    content = xlsx(
        [["卡号", "密码"], ["AAAA0001", "p"], [], [None, None], ["AAAA0002", 1234]],
        write_only=write_only,
    )
    rows = list(iter_rows(io.BytesIO(content), "xlsx"))
    assert rows[0] == (1, ["卡号", "密码"])
    assert rows[-1] == (5, ["AAAA0002", 1234])
    assert texts(parsed(content, "xlsx")) == ["AAAA0001 p", "AAAA0002 1234"]


def test_xlsx_dates_booleans_and_error_values():
    content = xlsx(
        [["AAAA0001", datetime.date(2026, 1, 2)], ["AAAA0002", True], ["AAAA0003"]]
    )
    items = parsed(content, "xlsx")
    errors = [item for item in items if isinstance(item, RowError)]
    assert [error.row for error in errors] == [1, 2]
    assert "date" in errors[0].reason
    assert texts(items) == ["AAAA0003"]


def test_same_codes_from_csv_txt_gbk_utf16_and_xlsx_are_equal():
    expected = ["CARD0001 PW01", "CARD0002 PW02"]
    csv_text = "卡号,密码\r\nCARD0001,PW01\r\nCARD0002 ,PW02\r\n"
    assert texts(parsed(csv_text.encode("utf-8-sig"), "csv")) == expected
    assert texts(parsed(csv_text.encode("gbk"), "csv")) == expected
    assert texts(parsed(csv_text.encode("utf-16"), "csv")) == expected
    tabbed = "卡号\t密码\nCARD0001\tPW01\nCARD0002\tPW02\n"
    assert texts(parsed(tabbed.encode(), "csv")) == expected
    txt = "CARD0001----PW01\r\nCARD0002   PW02   \r\n\r\n"
    assert texts(parsed(txt.encode(), "txt")) == expected
    assert texts(
        parsed("卡号 密码\nCARD0001，PW01\nCARD0002\tPW02\n".encode(), "txt")
    ) == (expected)
    assert (
        texts(
            parsed(
                xlsx([["卡号", "密码"], ["CARD0001", "PW01"], ["CARD0002", "PW02"]]),
                "xlsx",
            )
        )
        == expected
    )


def test_password_column_first_is_mapped_by_header():
    items = parsed("密码,卡号\nPW01,CARD0001\n".encode(), "csv")
    assert texts(items) == ["CARD0001 PW01"]


def test_too_many_columns_without_header_is_a_row_error():
    items = parsed(b"CARD0001,PW01,EXTRA\n", "csv")
    assert isinstance(items[0], RowError) and "3 columns" in items[0].reason


def test_unterminated_quote_reads_to_the_end_without_crashing():
    items = parsed(b'CARD0001,PW01\n"CARD0002,PW02\n', "csv")
    assert texts(items)[0] == "CARD0001 PW01"


def test_long_xlsx_cell_is_rejected():
    with pytest.raises(FileRejected, match=r"Cell A1 \(row 1\) holds more than 1000"):
        parsed(xlsx([["A" * 5000]]), "xlsx")


# --- encodings, decided for the whole file --------------------------------------------


def test_gbk_file_whose_rows_are_also_valid_utf8_imports():
    """元 is D4 AA in GBK, which is also valid UTF-8 (Ԫ): a GBK export with
    面值 "10元" on every row is GBK as a whole, not "mixed"."""
    text = "卡号,密码,面值\r\n" + "".join(
        f"GBKX{n:04d},pw{n},10元\r\n" for n in range(5)
    )
    content = text.encode("gbk")
    assert content.splitlines()[1].decode("utf-8")  # the trap: rows decode as UTF-8
    items = parsed(content, "csv")
    assert texts(items) == [f"GBKX{n:04d} pw{n}" for n in range(5)]
    rows = list(iter_rows(io.BytesIO(content), "csv"))
    assert rows[1][1][2] == "10元"


def test_gbk_rows_without_a_chinese_header_still_read_as_gbk():
    content = "AAAA0001----pw----10元\r\nAAAA0002----pw----面值\r\n".encode("gbk")
    rows = list(iter_rows(io.BytesIO(content), "txt"))
    assert [cells[0] for _row, cells in rows] == [
        "AAAA0001----pw----10元",
        "AAAA0002----pw----面值",
    ]


def test_file_that_really_mixes_encodings_names_both_rows():
    content = (
        b"AAAA0001,pw\r\n"
        + "AAAA0002,备注\r\n".encode()
        + "AAAA0003,备注\r\n".encode("gbk")
    )
    with pytest.raises(FileRejected) as excinfo:
        parsed(content, "csv")
    assert "row 2 is UTF-8 but row 3 is not" in str(excinfo.value)


def test_tsv_is_split_on_tabs_even_when_cells_hold_commas():
    content = "卡号\t密码\nAAAA0001\tp,w\n".encode()
    rows = list(iter_rows(io.BytesIO(content), "tsv"))
    assert rows == [(1, ["卡号", "密码"]), (2, ["AAAA0001", "p,w"])]


# --- xlsx as Excel writes it (openpyxl writes inline strings) ------------------------

EXCEL_PARTS = {
    "[Content_Types].xml": b"<Types/>",
    "_rels/.rels": (
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats'
        b'.org/officeDocument/2006/relationships/officeDocument" '
        b'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        b'<sheets><sheet name="Chart" sheetId="2" r:id="rId3"/>'
        b'<sheet name="Codes" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'relationships">'
        b'<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/chartsheet" Target="chartsheets/c1.xml"/>'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        b'<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        b"</Relationships>"
    ),
    "xl/chartsheets/c1.xml": b"<chartsheet/>",
    "xl/sharedStrings.xml": (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<si><t>\xe5\x8d\xa1\xe5\x8f\xb7</t>"  # 卡号
        b'<rPh sb="0" eb="2"><t>ka hao</t></rPh></si>'
        b"<si><r><t>AAAA</t></r><r><rPr><b/></rPr><t>0001</t></r></si></sst>"
    ),
    "xl/styles.xml": (
        b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy/mm/dd"/></numFmts>'
        b'<cellStyleXfs count="1"><xf numFmtId="164"/></cellStyleXfs>'
        b'<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164"/>'
        b'<xf numFmtId="49"/></cellXfs></styleSheet>'
    ),
    "xl/worksheets/sheet1.xml": (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c>'
        b'<c r="B1" t="inlineStr"><is><t>\xe5\xaf\x86\xe7\xa0\x81</t></is></c></row>'
        b'<row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2" s="2"><v>1234</v></c></row>'
        b'<row r="4"><c r="A4" s="1"><v>46000</v></c></row></sheetData></worksheet>'
    ),
}


def excel_workbook(parts) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_excel_shared_strings_rich_text_and_custom_date_styles():
    rows = list(iter_rows(io.BytesIO(excel_workbook(EXCEL_PARTS)), "xlsx"))
    assert rows[0] == (1, ["卡号", "密码"])  # the phonetic run is not text
    assert rows[1] == (2, ["AAAA0001", 1234])  # rich-text runs joined
    items = parsed(excel_workbook(EXCEL_PARTS), "xlsx")
    assert texts(items) == ["AAAA0001 1234"]
    error = next(item for item in items if isinstance(item, RowError))
    assert error.row == 4 and "date" in error.reason  # yyyy/mm/dd is a date


def test_workbook_with_a_doctype_is_refused_as_damaged():
    parts = dict(EXCEL_PARTS)
    parts["xl/sharedStrings.xml"] = (
        b'<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">]><sst><si><t>&a;</t></si></sst>'
    )
    with pytest.raises(FileRejected, match="not a valid Excel workbook"):
        list(iter_rows(io.BytesIO(excel_workbook(parts)), "xlsx"))
