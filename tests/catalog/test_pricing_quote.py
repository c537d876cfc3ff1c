"""quote_price: one function, every layer, the same answer everywhere."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import LevelPrice, QuantityTier
from catalog.services.pricing import (
    PRICE_STEPS,
    QuantityOutOfRange,
    quote_price,
    register_price_step,
)
from tests.catalog.factories import make_sku
from users.models import MemberLevel, User

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def sku(gold):
    sku = make_sku(price=D("10.00"), max_quantity=200)
    LevelPrice.objects.create(sku=sku, level=gold, price=D("9.50"))
    QuantityTier.objects.create(sku=sku, min_quantity=10, price=D("9.70"))
    QuantityTier.objects.create(sku=sku, min_quantity=50, price=D("9.20"))
    return sku


@pytest.fixture
def gold_buyer(gold):
    return User.objects.create_user("gold-buyer", member_level=gold)


def test_anonymous_single_unit_pays_the_base_price(sku):
    quote = quote_price(sku=sku)
    assert quote.unit_price == D("10.00")
    assert quote.total == D("10.00")
    assert quote.layer_codes == ["base"]


def test_member_price_applies_to_a_buyer_of_that_level(sku, gold_buyer):
    quote = quote_price(sku=sku, buyer=gold_buyer, quantity=2)
    assert quote.layer_codes == ["base", "member_level"]
    assert quote.unit_price == D("9.50")
    assert quote.total == D("19.00")
    assert "黄金" in quote.layers[1].note


def test_buyer_without_a_level_price_pays_base(sku):
    silver = MemberLevel.objects.create(code="silver", name="白银", rank=10)
    buyer = User.objects.create_user("silver-buyer", member_level=silver)
    assert quote_price(sku=sku, buyer=buyer).unit_price == D("10.00")


def test_highest_reached_quantity_tier_applies(sku):
    assert quote_price(sku=sku, quantity=9).unit_price == D("10.00")
    assert quote_price(sku=sku, quantity=10).unit_price == D("9.70")
    quote = quote_price(sku=sku, quantity=60)
    assert quote.layer_codes == ["base", "quantity_tier"]
    assert quote.unit_price == D("9.20")
    assert quote.total == D("552.00")
    assert "50" in quote.layers[1].note


def test_member_and_tier_do_not_stack_the_lower_wins(sku, gold_buyer):
    # member 9.50 beats tier ≥10 at 9.70
    at_ten = quote_price(sku=sku, buyer=gold_buyer, quantity=10)
    assert at_ten.layer_codes == ["base", "member_level"]
    assert at_ten.unit_price == D("9.50")
    # tier ≥50 at 9.20 beats member 9.50
    at_fifty = quote_price(sku=sku, buyer=gold_buyer, quantity=50)
    assert at_fifty.layer_codes == ["base", "quantity_tier"]
    assert at_fifty.unit_price == D("9.20")


def test_on_a_tie_the_member_price_is_shown(sku, gold_buyer):
    QuantityTier.objects.filter(min_quantity=10).update(price=D("9.50"))
    quote = quote_price(sku=sku, buyer=gold_buyer, quantity=10)
    assert quote.layer_codes == ["base", "member_level"]


def test_a_level_price_above_base_is_ignored(sku, gold, gold_buyer):
    LevelPrice.objects.filter(level=gold).update(price=D("12.00"))
    assert quote_price(sku=sku, buyer=gold_buyer).layer_codes == ["base"]


@pytest.mark.parametrize("quantity", [0, 201, -1])
def test_quantity_outside_the_sku_limits_is_refused(sku, quantity):
    with pytest.raises(QuantityOutOfRange) as err:
        quote_price(sku=sku, quantity=quantity)
    assert sku.code in err.value.message
    assert "200" in err.value.message


def test_minimum_quantity_is_enforced(db):
    sku = make_sku(min_quantity=5, max_quantity=10)
    with pytest.raises(QuantityOutOfRange, match="5"):
        quote_price(sku=sku, quantity=4)
    assert quote_price(sku=sku, quantity=5).total == D("49.00")


@pytest.mark.parametrize("quantity", ["3", 2.0, True, None])
def test_quantity_must_be_a_whole_number(sku, quantity):
    with pytest.raises(QuantityOutOfRange):
        quote_price(sku=sku, quantity=quantity)


def test_as_dict_is_a_json_snapshot_for_orders(sku, gold_buyer):
    at = timezone.now() - timedelta(hours=1)
    snapshot = quote_price(sku=sku, buyer=gold_buyer, quantity=3, at=at).as_dict()
    assert snapshot["unit_price"] == "9.50"
    assert snapshot["total"] == "28.50"
    assert snapshot["quantity"] == 3
    assert snapshot["at"] == at.isoformat()
    assert [layer["code"] for layer in snapshot["layers"]] == ["base", "member_level"]
    assert all(isinstance(layer["label"], str) for layer in snapshot["layers"])


def test_later_layers_plug_in_after_member_and_tier(sku, gold_buyer):
    """A flash sale or coupon is a step appended to the pipeline."""

    def coupon(ctx):
        off = ctx.options.get("coupon_off")
        if off:
            ctx.apply("coupon", "Coupon", ctx.unit_price - off, note="SAVE1")

    quote = quote_price(
        sku=sku,
        buyer=gold_buyer,
        quantity=2,
        extra_steps=[coupon],
        options={"coupon_off": D("1.00")},
    )
    assert quote.layer_codes == ["base", "member_level", "coupon"]
    assert quote.unit_price == D("8.50")
    assert quote.total == D("17.00")


def test_no_layer_takes_the_price_below_one_cent(sku, monkeypatch):
    def giveaway(ctx):
        ctx.apply("flash_sale", "Flash sale", D("-5"))

    monkeypatch.setattr("catalog.services.pricing.PRICE_STEPS", [*PRICE_STEPS])
    register_price_step(giveaway)
    quote = quote_price(sku=sku, quantity=3)
    assert quote.unit_price == D("0.01")
    assert quote.total == D("0.03")


def test_quote_reads_at_most_a_few_queries(
    sku, gold_buyer, django_assert_max_num_queries
):
    """The level price and the quantity tier; marketing's steps read nothing
    once their per-process caches know the SKU (the flash sales' is filled by
    the first quote, as in a running shop)."""
    quote_price(sku=sku, buyer=gold_buyer, quantity=10)
    with django_assert_max_num_queries(2):
        quote_price(sku=sku, buyer=gold_buyer, quantity=10)
