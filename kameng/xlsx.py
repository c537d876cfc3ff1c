"""A small streaming xlsx writer: one sheet, text and numbers, for big exports.

openpyxl's write-only workbook spends most of an export's time building a cell
object and an lxml element per cell; at half a million rows that is minutes of
CPU. This writer produces the same values with plain string building: each
row's XML is one f-string per cell, rows are buffered and written in blocks to
the sheet's entry of a zip file (`ZipFile.open(..., "w", force_zip64=True)`),
so neither the rows nor the sheet are ever held in memory.

What it writes is a minimal valid SpreadsheetML package: content types,
relationships, the workbook, a stylesheet (bold header, money as `#,##0.00`)
and the sheet (a frozen header row, column widths). Text is written as inline
strings (no shared-string table to keep in memory), XML-escaped by one
`str.translate` table that also drops the characters XML 1.0 forbids (control
characters), and never as a formula: text starting with = + - @ tab or CR gets
an apostrophe in front (kameng.spreadsheet's rule). Numbers (int, Decimal,
float) stay numbers; None and "" write an empty cell.

    columns = [Column("订单号", width=22), Column("金额", money=True)]
    with SheetWriter(path, sheet_name="订单", columns=columns) as sheet:
        for row in rows:
            sheet.append(row)

Checked by tests/kameng/test_xlsx.py (the file opens in openpyxl with the
values written) and tests/orders/test_workbench_export.py.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO

from openpyxl.utils import get_column_letter

from kameng.spreadsheet import FORMULA_STARTS

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
SHEET_NAME_FORBIDDEN = set("[]:*?/\\")
ROWS_PER_WRITE = 1000  # rows joined into one write to the zip stream
TEXT_CACHE_SIZE = 20_000  # escaped texts remembered (then forgotten at once)

# Style ids in styles.xml's cellXfs: 0 plain, 1 bold (header), 2 money.
HEADER_STYLE = ' s="1"'
MONEY_STYLE = ' s="2"'

# XML text escaping in one pass; characters XML 1.0 forbids are dropped (the
# C0 controls but tab, LF and CR; U+FFFE, U+FFFF; lone surrogates cannot be
# encoded as UTF-8 and fail loudly). CR is written as a reference so a reader
# does not turn it into LF.
ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;"}
ESCAPES.update({code: None for code in range(0x20) if code not in (0x09, 0x0A, 0x0D)})
ESCAPES.update({0x0D: "&#13;", 0xFFFE: None, 0xFFFF: None})


def xml_text(value: str) -> str:
    """`value` as XML character data (also safe inside a double-quoted attribute)."""
    return value.translate(ESCAPES)


def _text_tail(value: str) -> str:
    """A text cell after its reference: empty, or an inline string, escaped,
    with an apostrophe in front of what a spreadsheet would run as a formula."""
    if not value:
        return '"/>'
    if value.startswith(FORMULA_STARTS):
        value = "'" + value
    return (
        '" t="inlineStr"><is><t xml:space="preserve">'
        f"{value.translate(ESCAPES)}</t></is></c>"
    )


@dataclass(frozen=True)
class Column:
    title: str
    width: float = 14
    money: bool = False  # numbers shown as #,##0.00


class SheetWriter:
    """One worksheet streamed into an xlsx at `target` (a path or a binary
    file). Use as a context manager; `append(row)` writes one row (a sequence
    of str / int / Decimal / float / bool / None, exactly one per column)."""

    def __init__(
        self,
        target: str | Path | IO[bytes],
        *,
        sheet_name: str,
        columns: Sequence[Column],
        compresslevel: int = 1,
    ):
        if not sheet_name or len(sheet_name) > 31:
            raise ValueError("A sheet name has 1 to 31 characters.")
        if SHEET_NAME_FORBIDDEN & set(sheet_name):
            raise ValueError("A sheet name cannot hold [ ] : * ? / \\.")
        if not columns:
            raise ValueError("A sheet needs at least one column.")
        self.sheet_name = sheet_name
        self.columns = list(columns)
        self.last_row = 0  # the sheet's last row so far (1: the header)
        self._refs = [get_column_letter(i) for i in range(1, len(self.columns) + 1)]
        self._styles = [MONEY_STYLE if c.money else "" for c in self.columns]
        self._buffer: list[str] = []
        self._texts: dict[str, str] = {}
        self._zip = zipfile.ZipFile(
            target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        )
        self._sheet = None
        try:
            self._write_package()
            self._sheet = self._zip.open(
                "xl/worksheets/sheet1.xml", "w", force_zip64=True
            )
            self._sheet.write(self._sheet_head().encode())
            self._write_header()
        except BaseException:
            self._zip.close()
            raise

    # Rows ---------------------------------------------------------------------

    def append(self, row: Sequence) -> None:
        self.last_row += 1
        n = self.last_row
        texts = self._texts
        parts = [f'<row r="{n}">']
        add = parts.append
        for ref, style, value in zip(self._refs, self._styles, row, strict=True):
            kind = value.__class__
            if kind is str:
                # What follows the cell reference, for text: escaped and
                # neutralised once per distinct value (a status, a product
                # name repeats on many rows).
                tail = texts.get(value)
                if tail is None:
                    tail = _text_tail(value)
                    if len(texts) >= TEXT_CACHE_SIZE:
                        texts.clear()
                    texts[value] = tail
                add(f'<c r="{ref}{n}{tail}')
            elif value is None:
                add(f'<c r="{ref}{n}"/>')
            elif kind is int or (kind is Decimal and value.is_finite()):
                add(f'<c r="{ref}{n}"{style}><v>{value}</v></c>')
            else:
                add(self._other_cell(value, f"{ref}{n}", style))
        add("</row>")
        self._buffer.append("".join(parts))
        if len(self._buffer) >= ROWS_PER_WRITE:
            self._flush()

    def extend(self, rows: Iterable[Sequence]) -> None:
        for row in rows:
            self.append(row)

    @staticmethod
    def _other_cell(value, ref: str, style: str) -> str:
        """Cells outside the fast path: bool, float, str and int subclasses."""
        if isinstance(value, bool):
            return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
        if isinstance(value, str):  # a str subclass (SafeString, a Choices label)
            return f'<c r="{ref}{_text_tail(str(value))}'
        if isinstance(value, int):
            return f'<c r="{ref}"{style}><v>{int(value)}</v></c>'
        if isinstance(value, float | Decimal):
            if not math.isfinite(value):
                raise ValueError(f"Cell {ref}: {value} is not a finite number.")
            return f'<c r="{ref}"{style}><v>{value}</v></c>'
        raise TypeError(f"Cell {ref}: cannot write a {type(value).__name__}.")

    def _write_header(self) -> None:
        self.last_row += 1
        cells = "".join(
            f'<c r="{ref}1" t="inlineStr"{HEADER_STYLE}><is><t xml:space="preserve">'
            f"{xml_text(column.title)}</t></is></c>"
            for ref, column in zip(self._refs, self.columns, strict=True)
        )
        self._buffer.append(f'<row r="1">{cells}</row>')

    def _flush(self) -> None:
        if self._buffer:
            self._sheet.write("".join(self._buffer).encode())
            self._buffer.clear()

    # The package ----------------------------------------------------------------

    def close(self) -> None:
        if self._sheet is None:
            return
        try:
            self._flush()
            self._sheet.write(b"</sheetData></worksheet>")
            self._sheet.close()
        finally:
            self._sheet = None
            self._zip.close()

    def abort(self) -> None:
        """Close without finishing the sheet (after an error)."""
        if self._sheet is not None:
            sheet, self._sheet = self._sheet, None
            try:
                sheet.close()
            finally:
                self._zip.close()

    def __enter__(self) -> SheetWriter:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def _sheet_head(self) -> str:
        widths = "".join(
            f'<col min="{i}" max="{i}" width="{column.width:g}" customWidth="1"/>'
            for i, column in enumerate(self.columns, start=1)
        )
        return (
            f'{XML_HEAD}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
            '<sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
            "</sheetView></sheetViews>"
            '<sheetFormatPr defaultRowHeight="15"/>'
            f"<cols>{widths}</cols><sheetData>"
        )

    def _write_package(self) -> None:
        sheet_type = f"{REL_NS}/worksheet"
        files = {
            "[Content_Types].xml": (
                f'<Types xmlns="{CONTENT_NS}">'
                '<Default Extension="rels" '
                'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/xl/workbook.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="'
                "application/vnd.openxmlformats-officedocument.spreadsheetml."
                'worksheet+xml"/>'
                '<Override PartName="/xl/styles.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
                "</Types>"
            ),
            "_rels/.rels": (
                f'<Relationships xmlns="{PACKAGE_REL_NS}">'
                f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" '
                'Target="xl/workbook.xml"/></Relationships>'
            ),
            "xl/workbook.xml": (
                f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
                "<bookViews><workbookView/></bookViews><sheets>"
                f'<sheet name="{xml_text(self.sheet_name)}" sheetId="1" r:id="rId1"/>'
                "</sheets></workbook>"
            ),
            "xl/_rels/workbook.xml.rels": (
                f'<Relationships xmlns="{PACKAGE_REL_NS}">'
                f'<Relationship Id="rId1" Type="{sheet_type}" '
                'Target="worksheets/sheet1.xml"/>'
                f'<Relationship Id="rId2" Type="{REL_NS}/styles" '
                'Target="styles.xml"/></Relationships>'
            ),
            "xl/styles.xml": STYLES,
        }
        for name, body in files.items():
            self._zip.writestr(name, XML_HEAD + body)


# Fonts: 0 regular, 1 bold. cellXfs: 0 plain, 1 bold header, 2 money (numFmt 4
# is the built-in "#,##0.00").
STYLES = (
    f'<styleSheet xmlns="{MAIN_NS}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
    "</borders>"
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    "</cellStyleXfs>"
    '<cellXfs count="3">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" '
    'applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)
