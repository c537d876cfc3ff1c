"""HMAC-SHA256 signatures of the Kameng supplier protocol (docs/supplier-protocol.md).

Shared by our adapter (signs requests, verifies responses and callbacks) and the
sandbox supplier (verifies requests, signs responses and callbacks). A message is
signed over a canonical string of five lines:

    METHOD            (POST, GET; "RESPONSE" for a response)
    path              (URL path of the request, no query string)
    timestamp         (unix seconds, the X-Kameng-Timestamp header)
    nonce             (the X-Kameng-Nonce header, 16-64 chars [A-Za-z0-9_-])
    sha256(body)      (hex; of the empty string for a GET)

A signature is accepted at most once (the nonce is remembered in the Django cache)
and only within MAX_SKEW_SECONDS of our clock.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.translation import gettext as _

from kameng.parsing import constant_time_equals, parse_ascii_int

MAX_SKEW_SECONDS = 300
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

HEADER_MERCHANT = "X-Kameng-Merchant"
HEADER_TIMESTAMP = "X-Kameng-Timestamp"
HEADER_NONCE = "X-Kameng-Nonce"
HEADER_SIGNATURE = "X-Kameng-Signature"


class SignatureError(Exception):
    """The message is not provably from the holder of the key (or is a replay).

    `reason` is a stable machine code: missing_header, unknown_merchant,
    bad_timestamp, stale_timestamp, bad_nonce, reused_nonce, bad_signature.
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class SignedHeaders:
    merchant: str
    timestamp: str
    nonce: str
    signature: str


def canonical_string(
    *, method: str, path: str, timestamp: str, nonce: str, body: bytes
) -> str:
    return "\n".join(
        [method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()]
    )


def compute_signature(
    *, key: str, method: str, path: str, timestamp: str, nonce: str, body: bytes
) -> str:
    message = canonical_string(
        method=method, path=path, timestamp=timestamp, nonce=nonce, body=body
    )
    return hmac.new(
        key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def sign(
    *,
    key: str,
    merchant: str,
    method: str,
    path: str,
    body: bytes,
    now: float | None = None,
) -> dict[str, str]:
    """The four X-Kameng-* headers for a message."""
    timestamp = str(int(time.time() if now is None else now))
    nonce = secrets.token_hex(16)
    return {
        HEADER_MERCHANT: merchant,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: compute_signature(
            key=key,
            method=method,
            path=path,
            timestamp=timestamp,
            nonce=nonce,
            body=body,
        ),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    """Case-insensitive lookup that also understands Django's META names."""
    for candidate in (name, name.lower(), "HTTP_" + name.upper().replace("-", "_")):
        value = headers.get(candidate)
        if value is not None:
            return str(value).strip()
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return str(value).strip()
    return ""


def read_headers(headers: Mapping[str, str]) -> SignedHeaders:
    values = {}
    for name in (HEADER_MERCHANT, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE):
        value = _header(headers, name)
        if not value:
            raise SignatureError(
                "missing_header",
                _("Header %(name)s is missing.") % {"name": name},
            )
        values[name] = value
    return SignedHeaders(
        merchant=values[HEADER_MERCHANT],
        timestamp=values[HEADER_TIMESTAMP],
        nonce=values[HEADER_NONCE],
        signature=values[HEADER_SIGNATURE].lower(),
    )


def verify(
    *,
    keys: list[str] | tuple[str, ...],
    signed: SignedHeaders,
    method: str,
    path: str,
    body: bytes,
    scope: str,
    now: float | None = None,
) -> str:
    """Check a signed message against the candidate keys; returns the key that
    matched. Raises SignatureError. The nonce is remembered (per scope and
    merchant) only once the signature is valid, so a forger cannot burn nonces."""
    timestamp = parse_ascii_int(signed.timestamp)
    if timestamp is None:
        raise SignatureError(
            "bad_timestamp", _("X-Kameng-Timestamp must be unix seconds.")
        )
    current = time.time() if now is None else now
    if abs(current - timestamp) > MAX_SKEW_SECONDS:
        raise SignatureError(
            "stale_timestamp",
            _("X-Kameng-Timestamp is more than %(n)s seconds away from our clock.")
            % {"n": MAX_SKEW_SECONDS},
        )
    if not NONCE_RE.match(signed.nonce):
        raise SignatureError(
            "bad_nonce", _("X-Kameng-Nonce must be 16-64 letters, digits, - or _.")
        )
    matched = None
    for key in keys:
        expected = compute_signature(
            key=key,
            method=method,
            path=path,
            timestamp=signed.timestamp,
            nonce=signed.nonce,
            body=body,
        )
        if constant_time_equals(expected, signed.signature):
            matched = key
            break
    if matched is None:
        raise SignatureError("bad_signature", _("The signature does not match."))
    merchant = hashlib.sha256(signed.merchant.encode("utf-8")).hexdigest()[:16]
    nonce_key = f"supplier-nonce:{scope}:{merchant}:{signed.nonce}"
    if not cache.add(nonce_key, 1, timeout=2 * MAX_SKEW_SECONDS + 60):
        raise SignatureError(
            "reused_nonce", _("This nonce was already used: the message is a replay.")
        )
    return matched
