"""A report as an Excel workbook (openpyxl, write-only: rows stream to disk).

The first sheet, 摘要, holds the title, the period, the summary paragraph and the
KPIs of both periods; every table follows on a sheet of its own with a formatted,
frozen header row, number formats per column and widths that fit.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill

from analytics.reports.content import COUNT, MONEY, PERCENT, ReportContent, Table
from kameng.spreadsheet import spreadsheet_cell

NUMBER_FORMATS = {MONEY: "#,##0.00", COUNT: "#,##0", PERCENT: '0.0"%"'}
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="4F46E5")
TITLE_FONT = Font(bold=True, size=14)
SHEET_NAME_MAX = 31  # Excel's limit
FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def sheet_title(title: str, used: set[str]) -> str:
    base = str(title).translate(FORBIDDEN).strip()[:SHEET_NAME_MAX] or "Sheet"
    name, n = base, 2
    while name in used:
        suffix = f" ({n})"
        name = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        n += 1
    used.add(name)
    return name


def header_cells(sheet, titles) -> list:
    cells = []
    for title in titles:
        cell = WriteOnlyCell(sheet, value=str(title))
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
        cells.append(cell)
    return cells


def value_cell(sheet, value, kind: str):
    cell = WriteOnlyCell(sheet, value=plain(value))
    if kind in NUMBER_FORMATS and value is not None:
        cell.number_format = NUMBER_FORMATS[kind]
    return cell


def plain(value):
    """Numbers as numbers (money too: a spreadsheet cell is a number), text never
    a formula (kameng.spreadsheet)."""
    if isinstance(value, Decimal):
        return float(value)
    if value is None or isinstance(value, (int, float)):
        return value
    return spreadsheet_cell(str(value))


def write_summary(workbook: Workbook, content: ReportContent, used: set[str]):
    sheet = workbook.create_sheet(sheet_title(_("Summary"), used))
    sheet.column_dimensions["A"].width = 24
    for letter in "BCD":
        sheet.column_dimensions[letter].width = 18
    title = WriteOnlyCell(sheet, value=str(content.title))
    title.font = TITLE_FONT
    sheet.append([title])
    sheet.append([_("Period"), span(content.period)])
    sheet.append([_("Compared with"), span(content.previous)])
    sheet.append([_("Summary"), content.summary])
    sheet.append([])
    sheet.append(
        header_cells(
            sheet, [_("Metric"), _("This period"), _("Previous period"), _("Change %")]
        )
    )
    for metric in content.metrics:
        kind = {"money": MONEY, "percent": PERCENT}.get(metric.kind, COUNT)
        sheet.append(
            [
                str(metric.label),
                value_cell(sheet, metric.value, kind),
                value_cell(sheet, metric.previous, kind),
                value_cell(sheet, metric.change, PERCENT),
            ]
        )


def span(period) -> str:
    return f"{period.since.isoformat()} – {period.until.isoformat()}"


def write_table(workbook: Workbook, table: Table, used: set[str]) -> None:
    sheet = workbook.create_sheet(sheet_title(table.title, used))
    sheet.freeze_panes = "A2"
    for index in range(len(table.columns)):
        letter = chr(ord("A") + index) if index < 26 else "Z"
        sheet.column_dimensions[letter].width = 30 if index == 0 else 16
    sheet.append(header_cells(sheet, [column.title for column in table.columns]))
    for row in table.rows:
        sheet.append(
            [
                value_cell(sheet, value, column.kind)
                for value, column in zip(row, table.columns, strict=True)
            ]
        )


def write_excel(content: ReportContent, path: Path) -> Path:
    workbook = Workbook(write_only=True)
    used: set[str] = set()
    write_summary(workbook, content, used)
    for table in content.tables:
        write_table(workbook, table, used)
    workbook.save(path)
    return path
