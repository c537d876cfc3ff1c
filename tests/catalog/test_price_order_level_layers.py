"""An order-level layer (a coupon, points as cash) takes an amount off the
order's total, keeps the unit price, and never brings the total below ¥0.01."""

from decimal import Decimal

import pytest

from catalog.services.pricing import PricingError, quote_price
from tests.catalog.factories import make_sku

pytestmark = pytest.mark.django_db


def ten_off(ctx):
    ctx.take_off_total("coupon", "优惠券", Decimal("10"), "满30减10")


def everything_off(ctx):
    ctx.take_off_total("points", "积分抵现", Decimal("1000"))


def unit_layer(ctx):
    ctx.apply("flash_sale", "秒杀价", Decimal("1"))


def test_an_amount_off_the_total_keeps_the_unit_price():
    sku = make_sku(price=Decimal("33.33"))
    quote = quote_price(sku=sku, quantity=3, extra_steps=[ten_off])
    assert quote.unit_price == Decimal("33.33")
    assert quote.total == Decimal("89.99")  # 99.99 − 10, not 3 × a rounded unit
    assert quote.layers[-1].amount_off == Decimal("10.00")
    assert quote.as_dict()["layers"][-1]["amount_off"] == "10.00"


def test_the_total_never_goes_below_one_cent():
    sku = make_sku(price=Decimal("5.00"))
    quote = quote_price(sku=sku, quantity=1, extra_steps=[everything_off])
    assert quote.total == Decimal("0.01")
    assert quote.layers[-1].amount_off == Decimal("4.99")


def test_a_unit_layer_after_an_order_level_one_is_a_programming_error():
    sku = make_sku(price=Decimal("5.00"))
    with pytest.raises(PricingError):
        quote_price(sku=sku, quantity=1, extra_steps=[ten_off, unit_layer])
