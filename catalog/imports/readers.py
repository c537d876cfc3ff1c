"""Turn an uploaded xlsx, csv or txt file into numbered rows, streaming.

What suppliers' tools actually export is accepted: UTF-8 with or without BOM, GBK
(read as GB18030, its superset), UTF-16 with BOM (Excel's "Unicode text"), Windows
line endings, blank lines and trailing blanks. A file that cannot be what it claims
to be is rejected as a whole with FileRejected, before anything is written:
empty, too large, not a spreadsheet, an old .xls, a formula cell, a line longer
than `max_line_chars`, or text that is neither consistently UTF-8 nor GBK.

Rows come out as (row number as the operator sees it, [cell, ...]) with blank
rows skipped and trailing empty cells dropped; xlsx cells keep their Python type
(see `cell_text` for turning them into text).
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import PurePath
from typing import IO

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from catalog.imports.errors import FileRejected

XLSX, CSV, TXT = "xlsx", "csv", "txt"
FORMATS = (XLSX, CSV, TXT)
MAX_LINE_CHARS = 1000
# Excel keeps 15 significant digits of a number: longer card numbers typed into a
# General-format cell have already lost digits.
EXCEL_SAFE_DIGITS = 15

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

Row = tuple[int, list]


class CellError(ValueError):
    """A cell whose value cannot be used as text (a row error, not a file error)."""


def max_upload_bytes() -> int:
    return int(getattr(settings, "CARD_IMPORT_MAX_BYTES", 20 * 1024 * 1024))


def check_size(size: int | None) -> None:
    limit = max_upload_bytes()
    if size is None:
        return
    if size == 0:
        raise FileRejected(_("The file is empty."))
    if size > limit:
        raise FileRejected(
            _("The file is %(size)s; the limit is %(limit)s. Split it into parts.")
            % {"size": filesizeformat(size), "limit": filesizeformat(limit)}
        )


def raw_file(fileobj) -> IO[bytes]:
    """The plain binary file under Django's File / UploadedFile wrappers."""
    raw = fileobj
    while hasattr(raw, "file") and raw.file is not None and raw.file is not raw:
        raw = raw.file
    return raw


def detect_format(name: str, raw: IO[bytes]) -> str:
    """xlsx, csv or txt, from the content first and the file name second."""
    raw.seek(0)
    head = raw.read(8192)
    raw.seek(0)
    if not head:
        raise FileRejected(_("The file is empty."))
    ext = PurePath(name or "").suffix.lower().lstrip(".")
    if head.startswith(_OLE_MAGIC):
        raise FileRejected(
            _(
                "This is an old Excel 97-2003 (.xls) file; open it in Excel or WPS "
                "and save it as .xlsx, or export .csv."
            )
        )
    if head.startswith(_ZIP_MAGIC):
        return XLSX
    if ext == XLSX:
        raise FileRejected(_("The file is named .xlsx but is not an Excel workbook."))
    if ext not in (CSV, TXT):
        raise FileRejected(
            _("Files of type “%(ext)s” are not accepted; upload .xlsx, .csv or .txt.")
            % {"ext": ext or _("(none)")}
        )
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if b"\x00" in head and not utf16:
        raise FileRejected(
            _(
                "This is not a text file (it contains binary data); upload .xlsx, "
                ".csv or .txt."
            )
        )
    return ext


def iter_rows(raw: IO[bytes], fmt: str, *, max_line_chars: int = MAX_LINE_CHARS):
    """Numbered non-blank rows of the file; raises FileRejected on a bad file
    (possibly after some rows were yielded: callers treat the file as a whole)."""
    if fmt == XLSX:
        rows = _xlsx_rows(raw, max_line_chars)
    elif fmt == CSV:
        rows = _csv_rows(raw, max_line_chars)
    elif fmt == TXT:
        rows = (
            (number, [line])
            for number, line in _text_lines(raw, max_line_chars, strip=True)
        )
    else:  # pragma: no cover - detect_format only returns the three
        raise FileRejected(_("Unknown file format."))
    for number, cells in rows:
        while cells and _blank(cells[-1]):
            cells.pop()
        if cells:
            yield number, cells


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- xlsx -----------------------------------------------------------------------------


def _not_a_workbook() -> FileRejected:
    return FileRejected(
        _("The file is not a valid Excel workbook (.xlsx); it may be damaged.")
    )


def _first_sheet(raw: IO[bytes]):
    """openpyxl's read-only reader, up to (not including) the worksheets: the
    shared strings, the date styles and the path of the first worksheet."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    reader = ExcelReader(raw, read_only=True, data_only=False)
    reader.read_manifest()
    reader.read_strings()
    reader.read_workbook()
    reader.read_theme()
    apply_stylesheet(reader.archive, reader.wb)
    for _sheet, rel in reader.parser.find_sheets():
        if rel.target in reader.valid_files and "chartsheet" not in rel.Type:
            return reader, rel.target
    reader.archive.close()
    raise FileRejected(_("The workbook has no worksheet."))


def _xlsx_rows(raw: IO[bytes], max_chars: int) -> Iterator[Row]:
    """The first worksheet's rows. openpyxl (read-only) reads the workbook's
    structure; the sheet itself is streamed with expat, several times faster
    than building openpyxl cell objects for 100,000 rows."""
    raw.seek(0)
    try:
        reader, path = _first_sheet(raw)
    except FileRejected:
        raise
    except Exception as exc:  # zipfile, XML and openpyxl's own errors alike
        raise _not_a_workbook() from exc
    try:
        with reader.archive.open(path) as source:
            yield from _expat_rows(
                source, reader.shared_strings, reader.wb._date_formats, max_chars
            )
    finally:
        reader.archive.close()


_PLAIN = (int, float, Decimal, datetime.date, datetime.time, datetime.timedelta)
_DATE_PLACEHOLDER = datetime.datetime(1900, 1, 1)


def _check_cells(number: int, values: list, max_chars: int) -> None:
    for index, value in enumerate(values):
        if isinstance(value, str):
            if value.startswith("="):
                raise _formula(number, index)
            if len(value) > max_chars:
                raise _long_line(number, len(value), max_chars)
        elif value is not None and not isinstance(value, _PLAIN):
            raise _formula(number, index)  # ArrayFormula, DataTableFormula


class _Formula:
    """Marks a cell that holds a formula or an Excel error value (#N/A...)."""


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


def _expat_rows(source, shared, date_styles, max_chars: int) -> Iterator[Row]:
    """Stream the first sheet's XML with expat: rows of cell values, typed as
    openpyxl would (shared/inline strings, numbers, booleans; dates and
    formulas flagged). Several times faster than openpyxl's cell objects."""
    from xml.parsers import expat

    done: list[Row] = []
    state = {"row": 0, "values": None, "col": 0, "type": "n", "style": None}
    text: list[str] = []
    flags = {"collect": False, "formula": False}

    def start(name, attrs):
        name = name.rpartition(":")[2]
        if name == "c":
            state["col"] = _column_index(attrs.get("r"), state["col"])
            state["type"] = attrs.get("t", "n")
            state["style"] = attrs.get("s")
            text.clear()
            flags["formula"] = False
        elif name in ("v", "t"):
            flags["collect"] = True
        elif name == "f":
            flags["formula"] = True
        elif name == "row":
            number = attrs.get("r")
            state["row"] = int(number) if number else state["row"] + 1
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
                value = _Formula()
            index = state["col"] - 1
            if index >= len(values):
                values.extend([None] * (index + 1 - len(values)))
            values[index] = value
        elif name == "row":
            done.append((state["row"], state["values"] or []))
            state["values"] = None

    def chars(data):
        if flags["collect"]:
            text.append(data)

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        while True:
            chunk = source.read(1 << 16)
            parser.Parse(chunk, not chunk)
            for number, values in done:
                _check_cells(number, values, max_chars)
                yield number, values
            done.clear()
            if not chunk:
                break
    except (expat.ExpatError, zipfile.BadZipFile, ValueError, IndexError) as exc:
        raise _not_a_workbook() from exc


def _cell_value(kind: str, raw: str, style, shared, date_styles):
    if kind == "s":
        return shared[int(raw)] if raw else None
    if kind in ("inlineStr", "str"):
        return raw
    if kind == "b":
        return raw == "1"
    if kind == "e":
        return _Formula()
    if kind == "d":
        return _DATE_PLACEHOLDER
    if not raw:
        return None
    if style is not None and style.isdigit() and int(style) in date_styles:
        return _DATE_PLACEHOLDER
    if raw.lstrip("-").isdigit():
        return int(raw)
    return float(raw)


def _formula(number: int, index: int) -> FileRejected:
    from openpyxl.utils import get_column_letter

    return FileRejected(
        _(
            "Cell %(cell)s holds a formula. Formulas are not imported: copy the "
            "column and paste it as values."
        )
        % {"cell": f"{get_column_letter(index + 1)}{number}"}
    )


def cell_text(value) -> str:
    """A cell as text; raises CellError for values that are not safely text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise CellError(_("is TRUE/FALSE, not text"))
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta)):
        raise CellError(
            _("Excel turned this into a date or time; format the column as Text")
        )
    if isinstance(value, int):
        if len(str(abs(value))) > EXCEL_SAFE_DIGITS:
            raise CellError(_digits_lost())
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CellError(_("is not a number Excel can store"))
        if value.is_integer() and abs(value) < 10**EXCEL_SAFE_DIGITS:
            return str(int(value))
        if value.is_integer():
            raise CellError(_digits_lost())
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _digits_lost() -> str:
    return _(
        "Excel stored this as a number and keeps only 15 digits, so digits may be "
        "lost; format the column as Text and paste the codes again"
    )


# --- csv and txt ----------------------------------------------------------------------


def _long_line(number: int, length: int, limit: int) -> FileRejected:
    return FileRejected(
        _(
            "Row %(row)s is %(length)s characters long; a row may have at most "
            "%(limit)s. Is this the right file?"
        )
        % {"row": number, "length": length, "limit": limit}
    )


def sniff_encoding(raw: IO[bytes], max_chars: int = MAX_LINE_CHARS) -> str:
    """UTF-8 (BOM or not), GB18030 (GBK) or UTF-16; one pass over the bytes.

    A file whose non-ASCII lines are partly valid UTF-8 and partly not was saved
    piecewise in two encodings: it is rejected rather than half garbled.
    """
    raw.seek(0)
    head = raw.read(2)
    raw.seek(0)
    if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    utf8_row = other_row = None
    for number, line in enumerate(raw, start=1):
        if len(line) > max_chars * 4 + 2:
            raise _long_line(number, len(line.rstrip(b"\r\n")), max_chars)
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            other_row = other_row or number
        else:
            utf8_row = utf8_row or number
    raw.seek(0)
    if other_row is None:
        return "utf-8"
    if utf8_row is not None:
        raise FileRejected(
            _(
                "The file mixes encodings: row %(utf8)s is UTF-8 but row %(other)s "
                "is not. Save the whole file again in one encoding (UTF-8 is best)."
            )
            % {"utf8": utf8_row, "other": other_row}
        )
    for number, line in enumerate(raw, start=1):
        try:
            line.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise FileRejected(
                _(
                    "Row %(row)s is neither UTF-8 nor GBK text. Save the file as "
                    "UTF-8 (or GBK) text and upload it again."
                )
                % {"row": number}
            ) from exc
    raw.seek(0)
    return "gb18030"


def _text_lines(raw: IO[bytes], max_chars: int, *, strip: bool) -> Iterator:
    """(line number, decoded line); line endings kept unless `strip`."""
    encoding = sniff_encoding(raw, max_chars)
    if encoding == "utf-16":
        try:
            text = raw.read().decode("utf-16")
        except UnicodeDecodeError as exc:
            raise FileRejected(
                _("The file starts like UTF-16 text but is not valid UTF-16.")
            ) from exc
        lines = iter(io.StringIO(text, newline=""))
        decode = None
    else:
        lines = iter(raw)
        decode = encoding
    for number, line in enumerate(lines, start=1):
        if decode is not None:
            line = line.decode(decode)
        if number == 1:
            line = line.lstrip("\ufeff")
        body = line.rstrip("\r\n")
        if len(body) > max_chars:
            raise _long_line(number, len(body), max_chars)
        yield number, body.rstrip() if strip else line


def _csv_rows(raw: IO[bytes], max_chars: int) -> Iterator[Row]:
    lines = (line for _number, line in _text_lines(raw, max_chars, strip=False))
    # The delimiter comes from the first non-blank line: comma, else tab, else ";".
    buffered: list[str] = []
    for line in lines:
        buffered.append(line)
        if line.strip():
            break
    sample = buffered[-1] if buffered else ""
    delimiter = ","
    if "," not in sample:
        if "\t" in sample:
            delimiter = "\t"
        elif ";" in sample:
            delimiter = ";"

    def chained():
        yield from buffered
        yield from lines

    reader = csv.reader(chained(), delimiter=delimiter, strict=False)
    try:
        for cells in reader:
            yield reader.line_num, [cell.strip() for cell in cells]
    except csv.Error as exc:
        raise FileRejected(
            _("Row %(row)s cannot be read as CSV: %(error)s")
            % {"row": reader.line_num, "error": exc}
        ) from exc
