"""Rows of a card-code file → normalised code texts or row errors.

Layout: one code per row, the card number and optionally its password. A first
row naming the columns (卡号,密码 / card,password ...) is recognised and mapped;
without one, column 1 is the card and column 2 the password. Lines of a .txt file
are split on the first separator found: "----", tab, comma, else spaces.

The stored text of a code (what is encrypted, hashed and masked) is the card
alone, or "card password" joined by one space. Each part is NFKC-normalised
(full-width ＡＢ１ becomes AB1) and must be printable ASCII without spaces, so the
joined text always splits back into the same card and password.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

from catalog.imports.errors import FileRejected, RowError
from catalog.imports.readers import TXT, CellError, cell_text

MIN_CARD_CHARS = 4
MAX_PART_CHARS = 128
EXAMPLE_PREFIX = "示例"

CARD_NAMES = {
    "卡号",
    "卡密",
    "卡密号",
    "卡号卡密",
    "卡",
    "账号",
    "帐号",
    "序列号",
    "兑换码",
    "激活码",
    "card",
    "cardno",
    "cardnumber",
    "code",
    "cardcode",
    "cdkey",
    "key",
    "sn",
}
PASSWORD_NAMES = {
    "密码",
    "卡密码",
    "卡密",
    "password",
    "pwd",
    "pass",
    "pin",
    "secret",
}
IGNORED_NAMES = {
    "序号",
    "编号",
    "no",
    "no.",
    "#",
    "id",
    "面值",
    "有效期",
    "过期时间",
    "到期时间",
    "备注",
    "状态",
    "remark",
    "note",
    "notes",
    "status",
    "expiry",
}
AMBIGUOUS = "卡密"  # the card when alone, the password next to 卡号
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TXT_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ParsedCode:
    row: int
    text: str


@dataclass(frozen=True)
class Columns:
    card: int
    password: int | None
    width: int


_PRINTABLE = re.compile(r"[!-~]+")


def _norm(text: str) -> str:
    if text.isascii():
        return text.strip()
    return unicodedata.normalize("NFKC", text).strip()


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-:：/()（）]", "", _norm(str(text or "")).lower())


def split_txt_line(line: str) -> list[str]:
    line = _norm(line)
    for separator in ("----", "\t", ","):
        if separator in line:
            parts = [part.strip() for part in line.split(separator)]
            while parts and not parts[-1]:
                parts.pop()
            return parts
    return _TXT_SPACES.split(line) if line else []


def header_columns(cells: list) -> Columns | None:
    """The column layout named by a header row, None when the row is data.

    A first row that is clearly a header (it has Chinese text) but names no
    card column is a wrong file: FileRejected, naming the columns found.
    """
    texts = [str(cell) if cell is not None else "" for cell in cells]
    keys = [_header_key(text) for text in texts]
    known = CARD_NAMES | PASSWORD_NAMES | IGNORED_NAMES
    names_a_column = any(key in CARD_NAMES or key in PASSWORD_NAMES for key in keys)
    unknown = [texts[i] for i, key in enumerate(keys) if key and key not in known]
    if unknown or not names_a_column:
        if not any(_CJK.search(text) for text in texts):
            return None  # a data row (codes are never Chinese)
        if not names_a_column:
            raise FileRejected(
                _(
                    "The first row names the columns %(columns)s, but a card-code "
                    "file needs a 卡号 (card number) column and optionally 密码 "
                    "(password). Download the template to see the layout."
                )
                % {"columns": "、".join(t for t in texts if t.strip())}
            )
        raise FileRejected(
            _(
                "The columns %(columns)s are not card-code columns. Keep 卡号 "
                "(card number) and optionally 密码 (password); the template shows "
                "the layout."
            )
            % {"columns": "、".join(unknown)}
        )
    cards = [i for i, key in enumerate(keys) if key in CARD_NAMES and key != AMBIGUOUS]
    passwords = [
        i for i, key in enumerate(keys) if key in PASSWORD_NAMES and key != AMBIGUOUS
    ]
    ambiguous = [i for i, key in enumerate(keys) if key == AMBIGUOUS]
    if cards:
        passwords += ambiguous
    else:
        cards = ambiguous
    if not cards:
        raise FileRejected(_("The first row has no 卡号 (card number) column."))
    if len(cards) > 1 or len(passwords) > 1:
        raise FileRejected(
            _("The first row names the card or the password column twice.")
        )
    return Columns(
        card=cards[0], password=passwords[0] if passwords else None, width=len(cells)
    )


def _check_part(value, *, row: int, field: str, minimum: int) -> str | RowError:
    try:
        text = _norm(cell_text(value))
    except CellError as exc:
        return RowError(row, field, str(exc))
    if not text:
        return RowError(row, field, _("is empty"))
    if text.startswith(EXAMPLE_PREFIX):
        return RowError(row, field, _("is an example row of the template; delete it"))
    if len(text) > MAX_PART_CHARS:
        return RowError(
            row,
            field,
            _("is too long: %(length)s characters, at most %(limit)s")
            % {"length": len(text), "limit": MAX_PART_CHARS},
        )
    if len(text) < minimum:
        return RowError(
            row,
            field,
            _("is too short: %(length)s characters, at least %(limit)s")
            % {"length": len(text), "limit": minimum},
        )
    if _PRINTABLE.fullmatch(text):
        return text
    for char in text:
        if char.isspace():
            return RowError(row, field, _("contains a space"))
        if not ("!" <= char <= "~"):
            return RowError(
                row,
                field,
                _("contains “%(char)s”; codes are letters, digits and ASCII symbols")
                % {"char": char},
            )
    return text


def parse_code_rows(rows: Iterable, fmt: str) -> Iterator[ParsedCode | RowError]:
    """ParsedCode or RowError per data row, in file order."""
    card_field, password_field = _("card number"), _("password")
    columns: Columns | None = None
    first = True
    for number, cells in rows:
        if fmt == TXT:
            cells = split_txt_line(cells[0])
            if not cells:
                continue
        if first:
            first = False
            columns = header_columns(cells)
            if columns is not None:
                continue
        if columns is None:
            card = cells[0]
            password = cells[1] if len(cells) > 1 else None
            extra = cells[2:]
            width = 2
        else:
            card = cells[columns.card] if columns.card < len(cells) else None
            password = (
                cells[columns.password]
                if columns.password is not None and columns.password < len(cells)
                else None
            )
            extra = cells[columns.width :]
            width = columns.width
        if any(cell not in (None, "") for cell in extra):
            yield RowError(
                number,
                _("columns"),
                _("has %(found)s columns; expected %(width)s")
                % {"found": len(cells), "width": width},
            )
            continue
        card_text = _check_part(
            card, row=number, field=card_field, minimum=MIN_CARD_CHARS
        )
        if isinstance(card_text, RowError):
            yield card_text
            continue
        if password is None or (isinstance(password, str) and not password.strip()):
            yield ParsedCode(number, card_text)
            continue
        password_text = _check_part(
            password, row=number, field=password_field, minimum=1
        )
        if isinstance(password_text, RowError):
            yield password_text
            continue
        yield ParsedCode(number, f"{card_text} {password_text}")
