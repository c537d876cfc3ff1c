"""The downloadable xlsx templates and the error report, written with openpyxl.

Column headers are the file format (Chinese, as operators and suppliers write
them); the notes sheet is translated. Example rows start with 示例 so that a
template uploaded unchanged is caught row by row instead of imported.
"""

from __future__ import annotations

import csv
import io
import tempfile

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from kameng.spreadsheet import spreadsheet_cell, spreadsheet_row

CODE_HEADERS = ["卡号", "密码"]
PRODUCT_HEADERS = [
    "分类路径",
    "商品名称",
    "SKU编码",
    "规格",
    "面值",
    "发货方式",
    "库存模式",
    "售价",
    "成本价",
    "最小购买数量",
    "最大购买数量",
]


def _sheet(workbook: Workbook, title: str, headers: list[str], rows, widths):
    sheet = workbook.active
    sheet.title = title
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for letter, width in widths.items():
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    return sheet


def _notes(workbook: Workbook, lines: list[str]) -> None:
    notes = workbook.create_sheet(_("Notes"))
    notes.column_dimensions["A"].width = 110
    for line in lines:
        notes.append([line])
    notes["A1"].font = Font(bold=True)


def _to_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def code_template() -> bytes:
    workbook = Workbook()
    sheet = _sheet(
        workbook,
        "卡密",
        CODE_HEADERS,
        [["示例-ABCD1234EFGH", "示例-8888"], ["示例-QWER5678TYUI", ""]],
        {"A": 32, "B": 24},
    )
    for row in sheet.iter_rows(min_row=2, max_row=1000, max_col=2):
        for cell in row:
            cell.number_format = "@"  # text: Excel keeps long card numbers intact
    _notes(
        workbook,
        [
            _("How to fill in the card-code template"),
            _("One code per row on the first sheet; delete the example rows (示例)."),
            _(
                "卡号: the card number (required). 密码: the password, if the "
                "card has one."
            ),
            _(
                "Codes are letters, digits and ASCII symbols without spaces; "
                "full-width characters are converted."
            ),
            _(
                "Keep the columns formatted as Text: Excel drops digits of numbers "
                "longer than 15 digits."
            ),
            _("No formulas: paste values only."),
            _(
                "Duplicates in the file or already in stock are reported and "
                "skipped; nothing is imported before you confirm the preview."
            ),
            _(
                "CSV (UTF-8 or GBK) and TXT files are accepted too: one code per "
                "line, card and password separated by a space, comma, tab or ----."
            ),
        ],
    )
    return _to_bytes(workbook)


def product_template() -> bytes:
    workbook = Workbook()
    _sheet(
        workbook,
        "商品",
        PRODUCT_HEADERS,
        [
            [
                "游戏点卡/腾讯",
                "Q币直充卡",
                "示例-QB-10",
                "10 Q币",
                10,
                "卡密",
                "卡密库存",
                9.8,
                9.3,
                1,
                100,
            ],
            [
                "话费充值/中国移动",
                "移动话费快充",
                "示例-CM-50",
                "50 元",
                50,
                "直充",
                "不限",
                49.6,
                48.9,
                1,
                10,
            ],
        ],
        {"A": 22, "B": 22, "C": 16, "D": 14, "F": 10, "G": 12},
    )
    _notes(
        workbook,
        [
            _("How to fill in the product template"),
            _("One SKU per row; delete the example rows (示例)."),
            _(
                "A row creates the SKU, or updates it when the SKU code already "
                "exists. New products are created as drafts."
            ),
            _("分类路径: category path, levels separated by /, e.g. 游戏点卡/腾讯."),
            _("SKU编码: letters, digits, dot, dash or underscore, at most 40."),
            _("发货方式 (delivery type): 卡密 card, 直充 top-up, 人工 manual."),
            _(
                "库存模式 (stock mode): 不限 unlimited, 计数 counter, 卡密库存 "
                "available codes (card SKUs only); empty = the usual for the "
                "delivery type."
            ),
            _(
                "售价 price > 0; 成本价 cost price (only applied when you may see "
                "costs); money has at most two decimals."
            ),
            _("最小/最大购买数量: quantity per order; empty keeps 1 and 100."),
            _("The file is checked completely first; one bad row imports nothing."),
        ],
    )
    return _to_bytes(workbook)


def csv_report_to_xlsx(report_file) -> tempfile.SpooledTemporaryFile:
    """The stored CSV error report as an xlsx (streamed, write-only)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Errors"))
    text = io.TextIOWrapper(report_file, encoding="utf-8-sig", newline="")
    for number, row in enumerate(csv.reader(text)):
        sheet.append(
            [int(row[0]) if number and row[0].isdigit() else spreadsheet_cell(row[0])]
            + spreadsheet_row(row[1:])
        )
    text.detach()
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    workbook.save(out)
    out.seek(0)
    return out
