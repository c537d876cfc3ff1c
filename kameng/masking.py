"""How a contact reads where it is masked: the one masking function.

    mask_contact("13812345678")   -> "138****5678"
    mask_contact("alice@qq.com")  -> "a***@qq.com"
    mask_contact("wx_alice2024")  -> "w*********4"  (anything else: first and
                                     last character kept, the rest starred)

Who sees a contact masked and who in full is decided elsewhere (users.contacts);
this module only knows how a masked contact looks. Masking never fails: empty
stays empty, a short value is starred entirely.
"""

from __future__ import annotations

import re

MASK = "*"
# A mainland mobile number (optionally +86 / 86 in front) or any run of 7+
# digits, spaces and dashes: keep the first 3 and last 4 digits.
PHONE = re.compile(r"^\+?[\d\s-]{7,20}$")


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if len(digits) > 11 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) < 8:
        return MASK * len(digits)
    return f"{digits[:3]}{MASK * 4}{digits[-4:]}"


def mask_email(email: str) -> str:
    local, _, domain = email.rpartition("@")
    if not local:
        return mask_other(email)
    return f"{local[0]}{MASK * 3}@{domain}"


def mask_other(value: str) -> str:
    if len(value) <= 2:
        return MASK * len(value)
    return f"{value[0]}{MASK * (len(value) - 2)}{value[-1]}"


def mask_contact(value: str | None) -> str:
    """A phone number, an e-mail address or any other contact, masked."""
    value = (value or "").strip()
    if not value:
        return ""
    if "@" in value:
        return mask_email(value)
    if PHONE.match(value):
        return mask_phone(value)
    return mask_other(value)
