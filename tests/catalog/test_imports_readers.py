"""File readers: what suppliers' tools export reads the same in every format."""

import datetime
import io

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
