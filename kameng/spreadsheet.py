"""Cells written to a spreadsheet export (CSV or xlsx) are never formulas.

A card code, a buyer's nickname or an import's error text that starts with
=, +, -, @ (or a tab or carriage return, which some programs skip before
reading a formula) would run as a formula when the file is opened in Excel or
WPS: `=HYPERLINK(...)` leaks data, `=cmd|...` runs commands. Every export writes
its cells through `spreadsheet_cell` (one cell) or `spreadsheet_row`, which
prefix such text with an apostrophe, so it shows as typed. Numbers pass as
numbers.
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_row(values: Iterable) -> list:
    return [spreadsheet_cell(value) for value in values]
