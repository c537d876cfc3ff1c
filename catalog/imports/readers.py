"""Turn an uploaded xlsx, csv, tsv or txt file into numbered rows, streaming.

What suppliers' tools actually export is accepted: UTF-8 with or without BOM, GBK
(read as GB18030, its superset), UTF-16 with BOM (Excel's "Unicode text"), Windows
line endings, blank lines and trailing blanks. The encoding is decided for the
whole file: UTF-8 when every line decodes as UTF-8, else GB18030. A file that
cannot be what it claims to be is rejected as a whole with FileRejected, before
anything is written: empty, too large (bytes, unpacked bytes, rows or characters
in a cell, see `Limits`), not a spreadsheet, an old .xls, a formula cell, or text
that is neither UTF-8 nor GBK, or mixes the two.

Rows come out as (row number as the operator sees it, [cell, ...]) with blank
rows skipped and trailing empty cells dropped; xlsx cells keep their Python type
(see `cell_text` for turning them into text).
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath
from typing import IO

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from catalog.imports.errors import FileRejected
from catalog.imports.xlsx import cell_too_long, check_workbook, xlsx_rows

XLSX, CSV, TSV, TXT = "xlsx", "csv", "tsv", "txt"
FORMATS = (XLSX, CSV, TSV, TXT)
TEXT_FORMATS = (CSV, TSV, TXT)
# Excel keeps 15 significant digits of a number: longer card numbers typed into a
# General-format cell have already lost digits.
EXCEL_SAFE_DIGITS = 15

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Chinese as UTF-8 (CJK ideographs, their punctuation and full-width forms). GBK
# bytes that happen to be valid UTF-8 decode to Latin, Cyrillic or Armenian
# letters instead (元 is D4 AA, which UTF-8 reads as "Ԫ").
_UTF8_CHINESE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")

Row = tuple[int, list]


class CellError(ValueError):
    """A cell whose value cannot be used as text (a row error, not a file error)."""


@dataclass(frozen=True)
class Limits:
    """What one import file may hold; checked before (or while) it is read, so
    a hostile file is refused before it costs memory or time. From settings:
    CARD_IMPORT_MAX_BYTES, CARD_IMPORT_MAX_UNCOMPRESSED_BYTES,
    CARD_IMPORT_MAX_ROWS, CARD_IMPORT_MAX_CELL_CHARS."""

    max_bytes: int = 20 * 1024 * 1024
    max_uncompressed_bytes: int = 100 * 1024 * 1024
    max_rows: int = 200_000
    max_cell_chars: int = 1000

    @classmethod
    def from_settings(cls) -> Limits:
        defaults = cls()
        return cls(
            max_bytes=int(
                getattr(settings, "CARD_IMPORT_MAX_BYTES", defaults.max_bytes)
            ),
            max_uncompressed_bytes=int(
                getattr(
                    settings,
                    "CARD_IMPORT_MAX_UNCOMPRESSED_BYTES",
                    defaults.max_uncompressed_bytes,
                )
            ),
            max_rows=int(getattr(settings, "CARD_IMPORT_MAX_ROWS", defaults.max_rows)),
            max_cell_chars=int(
                getattr(settings, "CARD_IMPORT_MAX_CELL_CHARS", defaults.max_cell_chars)
            ),
        )


def max_upload_bytes() -> int:
    return Limits.from_settings().max_bytes


def check_size(size: int | None, limits: Limits | None = None) -> None:
    limit = (limits or Limits.from_settings()).max_bytes
    if size is None:
        return
    if size == 0:
        raise FileRejected(_("The file is empty."))
    if size > limit:
        raise FileRejected(
            _("The file is %(size)s; the limit is %(limit)s. Split it into parts.")
            % {"size": filesizeformat(size), "limit": filesizeformat(limit)}
        )


def check_file(raw: IO[bytes], fmt: str, limits: Limits | None = None) -> None:
    """The checks that need no parsing: a workbook's unpacked size."""
    limits = limits or Limits.from_settings()
    if fmt == XLSX:
        check_workbook(raw, max_uncompressed=limits.max_uncompressed_bytes)


def raw_file(fileobj) -> IO[bytes]:
    """The plain binary file under Django's File / UploadedFile wrappers."""
    raw = fileobj
    while hasattr(raw, "file") and raw.file is not None and raw.file is not raw:
        raw = raw.file
    return raw


def detect_format(name: str, raw: IO[bytes]) -> str:
    """xlsx, csv, tsv or txt, from the content first and the file name second."""
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
    if ext not in TEXT_FORMATS:
        raise FileRejected(
            _(
                "Files of type “%(ext)s” are not accepted; upload .xlsx, .csv, "
                ".tsv or .txt."
            )
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


def iter_rows(raw: IO[bytes], fmt: str, *, limits: Limits | None = None):
    """Numbered non-blank rows of the file; raises FileRejected on a bad file
    (possibly after some rows were yielded: callers treat the file as a whole),
    including on the row after the last one `limits.max_rows` allows."""
    limits = limits or Limits.from_settings()
    cap = limits.max_cell_chars
    if fmt == XLSX:
        rows = xlsx_rows(raw, max_cell_chars=cap)
    elif fmt == CSV:
        rows = _csv_rows(raw, cap, delimiter=None)
    elif fmt == TSV:
        rows = _csv_rows(raw, cap, delimiter="\t")
    elif fmt == TXT:
        rows = ((number, [line]) for number, line in _text_lines(raw, cap, strip=True))
    else:  # pragma: no cover - detect_format only returns the four
        raise FileRejected(_("Unknown file format."))
    count = 0
    for number, cells in rows:
        while cells and _blank(cells[-1]):
            cells.pop()
        if not cells:
            continue
        count += 1
        if count > limits.max_rows:
            raise FileRejected(
                _(
                    "The file has more than %(limit)s rows (row %(row)s is one too "
                    "many). Split it into files of at most %(limit)s rows."
                )
                % {"limit": limits.max_rows, "row": number}
            )
        yield number, cells


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


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


def sniff_encoding(raw: IO[bytes], max_chars: int) -> str:
    """UTF-8 (BOM or not), GB18030 (GBK) or UTF-16, decided for the whole file.

    UTF-8 when every line decodes as UTF-8; otherwise GB18030, which every line
    must then decode as. GBK text can happen to be valid UTF-8 too (a row whose
    only Chinese is 元), so such rows do not make a GBK file "mixed"; a row that
    reads as Chinese in UTF-8 next to a row that is not UTF-8 at all does: that
    file was saved piecewise in two encodings and is refused, not half garbled.
    """
    raw.seek(0)
    head = raw.read(2)
    raw.seek(0)
    if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    chinese_utf8_row = other_row = None
    for number, line in enumerate(raw, start=1):
        if len(line) > max_chars * 4 + 2:
            raise _long_line(number, len(line.rstrip(b"\r\n")), max_chars)
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            other_row = other_row or number
        else:
            if chinese_utf8_row is None and _UTF8_CHINESE.search(text):
                chinese_utf8_row = number
    raw.seek(0)
    if other_row is None:
        return "utf-8"
    if chinese_utf8_row is not None:
        raise FileRejected(
            _(
                "The file mixes encodings: row %(utf8)s is UTF-8 but row %(other)s "
                "is not. Save the whole file again in one encoding (UTF-8 is best)."
            )
            % {"utf8": chinese_utf8_row, "other": other_row}
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


def _csv_rows(
    raw: IO[bytes], max_chars: int, *, delimiter: str | None
) -> Iterator[Row]:
    """CSV rows; without a `delimiter` it comes from the first non-blank line:
    comma, else tab, else ";"."""
    lines = (line for _number, line in _text_lines(raw, max_chars, strip=False))
    buffered: list[str] = []
    for line in lines:
        buffered.append(line)
        if line.strip():
            break
    if delimiter is None:
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
        ended = 0
        for cells in reader:
            # A quoted cell may run over several lines: the row is numbered by
            # its first line, where a person looking for it starts reading.
            number, ended = ended + 1, reader.line_num
            # A quoted cell may run over many short lines: its length counts.
            for index, cell in enumerate(cells):
                if len(cell) > max_chars:
                    raise cell_too_long(number, index, max_chars)
            yield number, [cell.strip() for cell in cells]
    except csv.Error as exc:
        raise FileRejected(
            _("Row %(row)s cannot be read as CSV: %(error)s")
            % {"row": reader.line_num, "error": exc}
        ) from exc
