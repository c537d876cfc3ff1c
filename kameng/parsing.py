"""Strict parsing of untrusted text: query strings, headers, URL parts, signatures.

`str.isdigit()` is no guard before `int()`: it is true for "²" and "٣" (which
`int()` refuses or reads) and for a 5,000-digit number (which `int()` refuses
since Python 3.11 and a database column cannot hold). `hmac.compare_digest`
raises TypeError on a `str` that is not ASCII. Every view, gateway and admin
page that reads a number or checks a signature from a request uses these
instead, so such input is a normal "bad request", never a 500.
"""

from __future__ import annotations

import hmac
import re

# 18 digits always fit a signed 64-bit column (bigint, SQLite INTEGER):
# 10**18 - 1 < 2**63 - 1.
MAX_DIGITS = 18

_ASCII_DIGITS = re.compile(r"[0-9]+")


def parse_ascii_int(text: object, *, max_digits: int = MAX_DIGITS) -> int | None:
    """The non-negative integer spelled by `text` in ASCII digits, else None.

    Only "0"-"9" count: no sign, no spaces, no underscores, no other scripts'
    digits or superscripts, at most `max_digits` of them. None (a missing
    parameter) and non-str input give None too.
    """
    if not isinstance(text, str) or not 0 < len(text) <= max_digits:
        return None
    if not _ASCII_DIGITS.fullmatch(text):
        return None
    return int(text)


def _to_bytes(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    # surrogatepass: a JSON body may carry a lone surrogate ("\ud800"), which
    # plain UTF-8 encoding refuses.
    return value.encode("utf-8", errors="surrogatepass")


def constant_time_equals(expected: str | bytes, given: str | bytes) -> bool:
    """`hmac.compare_digest` for text that may not be ASCII.

    Both sides are compared as UTF-8 bytes, so a forged signature with "é" in
    it is simply unequal instead of raising TypeError.
    """
    return hmac.compare_digest(_to_bytes(expected), _to_bytes(given))
