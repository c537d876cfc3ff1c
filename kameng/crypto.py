"""Encryption at rest for card codes and supplier credentials.

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under the keys of
FIELD_ENCRYPTION_KEY: the first key encrypts, every key decrypts, so a new key is
put first, `manage.py rotate_card_key` re-encrypts, and the old key is dropped
afterwards. Each stored token is labelled with the fingerprint of the key that made
it (`key_version`), which is how rotation knows what is left to do.

Deduplication never decrypts: `code_hash()` is an HMAC-SHA256 under CARD_HASH_KEY of
the normalised text, stored under a unique constraint.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = [
    "InvalidToken",
    "code_hash",
    "current_key_version",
    "decrypt",
    "encrypt",
    "mask",
    "normalise_code",
]


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()[:12]


@cache
def _keys(keys: tuple[str, ...]) -> tuple[MultiFernet, str]:
    return MultiFernet([Fernet(key) for key in keys]), _fingerprint(keys[0])


@cache
def _first(key: str) -> Fernet:
    return Fernet(key)


def _current() -> tuple[MultiFernet, str]:
    return _keys(tuple(settings.FIELD_ENCRYPTION_KEYS))


def current_key_version() -> str:
    """Fingerprint of the key new tokens are made with."""
    return _current()[1]


def encrypt(text: str) -> str:
    return _current()[0].encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """Raises InvalidToken when no configured key made this token (or it was
    tampered with)."""
    return _current()[0].decrypt(token.encode("ascii")).decode("utf-8")


def made_with_current_key(token: str) -> bool:
    """Whether the first (current) key made `token`: rotation's "left to do" for
    columns that keep no key_version beside the token (kameng.fields)."""
    try:
        _first(settings.FIELD_ENCRYPTION_KEYS[0]).decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """The same plaintext under the current key (MultiFernet.rotate)."""
    return _current()[0].rotate(token.encode("ascii")).decode("ascii")


def normalise_code(text: str) -> str:
    """What counts as the same code: NFKC (full-width ＡＢＣ１ == ABC1), outer
    whitespace stripped, inner whitespace runs collapsed to one space."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def code_hash(text: str) -> str:
    """Keyed fingerprint of a normalised code: equal codes, equal hashes."""
    key = settings.CARD_HASH_KEY.encode()
    return hmac.new(
        key, normalise_code(text).encode("utf-8"), hashlib.sha256
    ).hexdigest()


def mask(text: str) -> str:
    """What staff see without the reveal permission: the ends only (AB****YZ)."""
    text = normalise_code(text)
    if len(text) <= 4:
        return "*" * len(text)
    keep = 2 if len(text) < 12 else 3
    return f"{text[:keep]}{'*' * 6}{text[-keep:]}"
