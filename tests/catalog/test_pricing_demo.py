"""Demo pricing data: levels, level prices, tiers, a cost-plus rule, a season."""

from decimal import Decimal

import pytest

from catalog.demo import pricing, products
from catalog.models import CostPlusRule, LevelPrice, PriceChange, Product, QuantityTier
from catalog.services.pricing import quote_price
from kameng.demo import DemoContext
from users import demo as users_demo
from users.models import MemberLevel, User

pytestmark = pytest.mark.django_db


def seed_twice():
    for _ in range(2):
        ctx = DemoContext(buyers=25)
        users_demo.seed(ctx)
        products.seed(ctx)
        pricing.seed(ctx)
    return ctx


def test_demo_pricing_is_complete_and_idempotent():
    ctx = seed_twice()
    assert list(MemberLevel.objects.values_list("code", flat=True)) == [
        "normal",
        "silver",
        "gold",
        "vip",
    ]
    assert MemberLevel.objects.get(code="vip").prefers_fastest_supplier
    assert LevelPrice.objects.count() == 18
    assert set(QuantityTier.objects.values_list("min_quantity", flat=True)) == {10, 50}
    assert CostPlusRule.objects.get().sku.delivery_type == "topup"
    assert not User.objects.filter(
        username__startswith="buyer", member_level__isnull=True
    ).exists()
    assert User.objects.filter(member_level__code="vip").count() == 1  # buyer0020
    season = Product.objects.get(name="春节礼包")
    assert season.status == "draft"
    assert season.unlist_at > season.list_at
    assert "0 level prices" in ctx.log[-1]
    assert PriceChange.objects.filter(cause="import").exists()


def test_a_vip_demo_buyer_gets_a_cheaper_quote():
    seed_twice()
    vip = User.objects.get(username="buyer0020")
    from catalog.models import Sku

    sku = Sku.objects.get(code="QB-10")
    quote = quote_price(sku=sku, buyer=vip)
    assert quote.layer_codes == ["base", "member_level"]
    assert quote.unit_price < sku.price
    assert quote_price(sku=sku, quantity=50).unit_price == Decimal("9.60")
