"""kameng.parsing: the strict reading of numbers and signatures from requests."""

import pytest

from kameng.parsing import MAX_DIGITS, constant_time_equals, parse_ascii_int


@pytest.mark.parametrize(
    ("text", "number"),
    [("0", 0), ("7", 7), ("0042", 42), ("9" * MAX_DIGITS, 10**MAX_DIGITS - 1)],
)
def test_ascii_digits_read_as_their_number(text, number):
    assert parse_ascii_int(text) == number


@pytest.mark.parametrize(
    "text",
    [
        "²",  # superscript two: isdigit() is True, int() refuses it
        "1²",
        "٣",  # Arabic-Indic three: int() would read it as 3
        "１２",  # fullwidth digits
        "9" * 5000,  # int() refuses more than 4300 digits
        "1" * (MAX_DIGITS + 1),
        "",
        " 12",
        "12 ",
        "12\n",
        "+12",
        "-12",
        "1_000",
        "1.0",
        "0x10",
        None,
        12,
        b"12",
    ],
)
def test_anything_but_ascii_digits_is_none(text):
    assert parse_ascii_int(text) is None


def test_max_digits_is_a_ceiling_the_caller_can_lower():
    assert parse_ascii_int("12345", max_digits=5) == 12345
    assert parse_ascii_int("123456", max_digits=5) is None


@pytest.mark.parametrize(
    ("expected", "given", "equal"),
    [
        ("ab12", "ab12", True),
        ("ab12", "ab13", False),
        ("ab12", "ab1", False),
        ("ab12", "ab1é", False),  # compare_digest on this str raises TypeError
        ("ab12", "签名", False),
        ("ab12", "\ud800", False),  # a lone surrogate, as json.loads may give
        ("签名", "签名", True),
        (b"ab12", "ab12", True),
    ],
)
def test_constant_time_equals_compares_any_text(expected, given, equal):
    assert constant_time_equals(expected, given) is equal
