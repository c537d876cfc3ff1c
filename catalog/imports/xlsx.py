"""Read the first worksheet of an .xlsx file, streaming, with the standard library.

An .xlsx file is a zip of XML parts (ECMA-376). This module reads only what an
import needs: the package relationships to find the workbook and its first
worksheet, the shared strings, the cell styles that are dates, and the sheet's
rows, which are streamed with expat. It uses no private API of openpyxl (openpyxl
is used for writing templates, and for its public `is_date_format`).

Limits are checked before anything is parsed: the members' uncompressed sizes
come from the zip's central directory (`check_workbook`), and zipfile never
inflates a member beyond its declared size. A shared string longer than the cell
limit is kept truncated to limit + 1 characters, so the cell that uses it is
refused with its row and column rather than held in memory whole.
"""

from __future__ import annotations

import datetime
import posixpath
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO
from xml.parsers import expat

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils import get_column_letter

from catalog.imports.errors import FileRejected

Row = tuple[int, list]

_OFFICE_DOCUMENT = "/officeDocument"
_WORKSHEET = "/worksheet"
_SHARED_STRINGS = "/sharedStrings"
_STYLES = "/styles"
_READ_CHUNK = 1 << 16

PLAIN_TYPES = (int, float, Decimal, datetime.date, datetime.time, datetime.timedelta)
DATE_PLACEHOLDER = datetime.datetime(1900, 1, 1)


class Formula:
    """Marks a cell that holds a formula or an Excel error value (#N/A...)."""


def not_a_workbook() -> FileRejected:
    return FileRejected(
        _("The file is not a valid Excel workbook (.xlsx); it may be damaged.")
    )


def formula_rejected(number: int, index: int) -> FileRejected:
    return FileRejected(
        _(
            "Cell %(cell)s holds a formula. Formulas are not imported: copy the "
            "column and paste it as values."
        )
        % {"cell": f"{get_column_letter(index + 1)}{number}"}
    )


def cell_too_long(number: int, index: int, limit: int) -> FileRejected:
    return FileRejected(
        _(
            "Cell %(cell)s (row %(row)s) holds more than %(limit)s characters; a "
            "cell may have at most %(limit)s. Is this the right file?"
        )
        % {
            "cell": f"{get_column_letter(index + 1)}{number}",
            "row": number,
            "limit": limit,
        }
    )


def check_workbook(raw: IO[bytes], *, max_uncompressed: int) -> None:
    """Refuse a workbook whose parts, unpacked, exceed `max_uncompressed` bytes
    (a zip bomb, or one enormous cell), from the zip directory alone."""
    raw.seek(0)
    try:
        with zipfile.ZipFile(raw) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise not_a_workbook() from exc
    finally:
        raw.seek(0)
    if total > max_uncompressed:
        raise FileRejected(
            _(
                "Unpacked, this workbook is %(size)s; the limit is %(limit)s. "
                "Split it into smaller files."
            )
            % {"size": filesizeformat(total), "limit": filesizeformat(max_uncompressed)}
        )


# --- package structure ----------------------------------------------------------------


def _local(name: str) -> str:
    return name.rpartition(":")[2]


@dataclass(frozen=True)
class _Element:
    name: str  # local name, without a namespace prefix
    attrs: dict
    parent: str  # local name of the parent element


def _elements(archive: zipfile.ZipFile, path: str) -> list[_Element] | None:
    """The elements of a small XML part (relationships, workbook, styles) with
    their attributes; None when the part is missing."""
    if path not in archive.NameToInfo:
        return None
    found: list[_Element] = []
    stack: list[str] = [""]

    def start(name, attrs):
        local = _local(name)
        found.append(_Element(local, attrs, stack[-1]))
        stack.append(local)

    def end(name):
        stack.pop()

    _stream(archive, path, start, end, None)
    return found


def _no_doctype(*args) -> None:
    raise ValueError("DOCTYPE in an xlsx part")


def _relationships(archive: zipfile.ZipFile, part: str) -> list[tuple[str, str, str]]:
    """(id, type, resolved target path) of a part's relationships."""
    folder, name = posixpath.split(part)
    elements = _elements(archive, posixpath.join(folder, "_rels", f"{name}.rels"))
    found = []
    for element in elements or []:
        if element.name != "Relationship":
            continue
        target = element.attrs.get("Target", "")
        if element.attrs.get("TargetMode") == "External" or not target:
            continue
        if target.startswith("/"):
            path = target.lstrip("/")
        else:
            path = posixpath.normpath(posixpath.join(folder, target))
        found.append((element.attrs.get("Id", ""), element.attrs.get("Type", ""), path))
    return found


def _relationship_id(attrs: dict) -> str:
    """The r:id attribute, whatever prefix the file gives its namespace."""
    for key, value in attrs.items():
        if key != "id" and _local(key) == "id":
            return value
    return ""


def _structure(archive: zipfile.ZipFile) -> tuple[str, str | None, str | None]:
    """Paths of the first worksheet, the shared strings and the styles."""
    workbook = next(
        (
            path
            for _id, kind, path in _relationships(archive, "")
            if kind.endswith(_OFFICE_DOCUMENT)
        ),
        None,
    )
    if workbook is None:
        raise not_a_workbook()
    relations = _relationships(archive, workbook)
    by_id = {rel_id: (kind, path) for rel_id, kind, path in relations}
    elements = _elements(archive, workbook)
    if elements is None:
        raise not_a_workbook()
    sheet = None
    for element in elements:
        if element.name != "sheet":
            continue
        kind, path = by_id.get(_relationship_id(element.attrs), ("", ""))
        if kind.endswith(_WORKSHEET) and path in archive.NameToInfo:
            sheet = path
            break
    if sheet is None:
        raise FileRejected(_("The workbook has no worksheet."))

    def first(suffix: str) -> str | None:
        for _id, kind, path in relations:
            if kind.endswith(suffix) and path in archive.NameToInfo:
                return path
        return None

    return sheet, first(_SHARED_STRINGS), first(_STYLES)


def _date_styles(archive: zipfile.ZipFile, path: str | None) -> frozenset[int]:
    """Indexes of the cell formats (cellXfs) that show a number as a date."""
    elements = (_elements(archive, path) if path else None) or []
    custom = {
        element.attrs.get("numFmtId", ""): element.attrs.get("formatCode", "")
        for element in elements
        if element.name == "numFmt"
    }
    formats = [
        element.attrs.get("numFmtId", "0")
        for element in elements
        if element.name == "xf" and element.parent == "cellXfs"
    ]
    dates = set()
    for index, fmt_id in enumerate(formats):
        code = custom.get(fmt_id)
        if code is None and fmt_id.isascii() and fmt_id.isdigit():
            code = BUILTIN_FORMATS.get(int(fmt_id))
        if code and is_date_format(code):
            dates.add(index)
    return frozenset(dates)


def _shared_strings(archive: zipfile.ZipFile, path: str | None, cap: int) -> list[str]:
    """Every shared string (phonetic runs left out), each cut at `cap` characters."""
    if path is None:
        return []
    strings: list[str] = []
    parts: list[str] = []
    state = {"collect": False, "phonetic": 0, "length": 0}

    def start(name, attrs):
        name = name.rpartition(":")[2]
        if name == "si":
            parts.clear()
            state["length"] = 0
        elif name == "rPh":
            state["phonetic"] += 1
        elif name == "t" and not state["phonetic"]:
            state["collect"] = True

    def end(name):
        name = name.rpartition(":")[2]
        if name == "si":
            strings.append("".join(parts))
        elif name == "rPh":
            state["phonetic"] -= 1
        elif name == "t":
            state["collect"] = False

    def chars(data):
        if state["collect"] and state["length"] < cap:
            data = data[: cap - state["length"]]
            parts.append(data)
            state["length"] += len(data)

    _stream(archive, path, start, end, chars)
    return strings


def _stream(archive, path, start, end, chars) -> None:
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    if chars is not None:
        parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = _no_doctype
    with archive.open(path) as source:
        while True:
            chunk = source.read(_READ_CHUNK)
            parser.Parse(chunk, not chunk)
            if not chunk:
                break


# --- rows -----------------------------------------------------------------------------


def _column_index(ref: str | None, previous: int) -> int:
    if not ref:
        return previous + 1
    index = 0
    for char in ref:
        if "A" <= char <= "Z":
            index = index * 26 + ord(char) - 64
        else:
            break
    return index or previous + 1


def _cell_value(kind: str, raw: str, style, shared: list[str], date_styles):
    if kind == "s":
        return shared[int(raw)] if raw else None
    if kind in ("inlineStr", "str"):
        return raw
    if kind == "b":
        return raw == "1"
    if kind == "e":
        return Formula()
    if kind == "d":
        return DATE_PLACEHOLDER
    if not raw:
        return None
    if style is not None and style.isascii() and style.isdigit():
        if int(style) in date_styles:
            return DATE_PLACEHOLDER
    if raw.lstrip("-").isascii() and raw.lstrip("-").isdigit():
        return int(raw)
    return float(raw)


def _check_cells(number: int, values: list, cap: int) -> None:
    for index, value in enumerate(values):
        if isinstance(value, str):
            if value.startswith("="):
                raise formula_rejected(number, index)
            if len(value) > cap:
                raise cell_too_long(number, index, cap)
        elif value is not None and not isinstance(value, PLAIN_TYPES):
            raise formula_rejected(number, index)


def xlsx_rows(raw: IO[bytes], *, max_cell_chars: int) -> Iterator[Row]:
    """The first worksheet's rows as (row number, [typed cell values]).
    Call `check_workbook` first: this trusts the members' sizes."""
    raw.seek(0)
    try:
        archive = zipfile.ZipFile(raw)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise not_a_workbook() from exc
    with archive:
        try:
            sheet, strings_path, styles_path = _structure(archive)
            shared = _shared_strings(archive, strings_path, max_cell_chars + 1)
            date_styles = _date_styles(archive, styles_path)
        except FileRejected:
            raise
        except (
            expat.ExpatError,
            zipfile.BadZipFile,
            ValueError,
            OSError,
            EOFError,
        ) as exc:
            raise not_a_workbook() from exc
        yield from _sheet_rows(archive, sheet, shared, date_styles, max_cell_chars)


def _sheet_rows(archive, sheet, shared, date_styles, cap: int) -> Iterator[Row]:
    done: list[Row] = []
    state = {"row": 0, "values": None, "col": 0, "type": "n", "style": None}
    text: list[str] = []
    flags = {"collect": False, "formula": False, "length": 0}

    def start(name, attrs):
        name = name.rpartition(":")[2]
        if name == "c":
            state["col"] = _column_index(attrs.get("r"), state["col"])
            state["type"] = attrs.get("t", "n")
            state["style"] = attrs.get("s")
            text.clear()
            flags["formula"] = False
            flags["length"] = 0
        elif name in ("v", "t"):
            flags["collect"] = True
        elif name == "f":
            flags["formula"] = True
        elif name == "row":
            number = attrs.get("r")
            if number and number.isascii() and number.isdigit():
                state["row"] = int(number)
            else:
                state["row"] += 1
            state["values"] = []
            state["col"] = 0

    def end(name):
        name = name.rpartition(":")[2]
        if name in ("v", "t"):
            flags["collect"] = False
        elif name == "c":
            values = state["values"]
            if values is None:
                return
            value = _cell_value(
                state["type"], "".join(text), state["style"], shared, date_styles
            )
            if flags["formula"]:
                value = Formula()
            index = state["col"] - 1
            if index >= len(values):
                values.extend([None] * (index + 1 - len(values)))
            values[index] = value
        elif name == "row":
            done.append((state["row"], state["values"] or []))
            state["values"] = None

    def chars(data):
        if not flags["collect"]:
            return
        flags["length"] += len(data)
        if flags["length"] > cap:  # an inline string or a number: refuse now
            raise cell_too_long(state["row"], max(state["col"] - 1, 0), cap)
        text.append(data)

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = _no_doctype
    try:
        with archive.open(sheet) as source:
            while True:
                chunk = source.read(_READ_CHUNK)
                parser.Parse(chunk, not chunk)
                for number, values in done:
                    _check_cells(number, values, cap)
                    yield number, values
                done.clear()
                if not chunk:
                    break
    except FileRejected:
        raise
    except (
        expat.ExpatError,
        zipfile.BadZipFile,
        ValueError,
        IndexError,
        OSError,
        EOFError,
    ) as exc:
        raise not_a_workbook() from exc
