from decimal import Decimal

import pytest

from kameng.templatetags.kameng import cny


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("0"), "¥0.00"),
        (Decimal("9.8"), "¥9.80"),
        (Decimal("1234567.5"), "¥1,234,567.50"),
        (Decimal("-20.00"), "-¥20.00"),
        ("12.345", "¥12.35"),
        (None, ""),
        ("abc", ""),
    ],
)
def test_cny_formats_money_as_shown_to_operators(value, shown):
    assert cny(value) == shown
