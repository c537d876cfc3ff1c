"""Offer cost changes re-price the SKU through pricing's cost-plus."""

from decimal import Decimal

import pytest

from catalog.models import PriceChange, Sku, SupplierOffer
from catalog.services.suppliers import InvalidOfferCost, update_offer_cost
from tests.catalog.suppliers_factories import make_offer, make_supplier, make_topup_sku


@pytest.fixture
def offer(db):
    sku = make_topup_sku(cost_price=Decimal("48.90"), price=Decimal("49.60"))
    return make_offer(make_supplier(), sku, cost=Decimal("48.90"))


def test_new_cost_is_saved_and_reaches_the_sku(offer, role_user):
    actor = role_user("operations")
    update_offer_cost(offer=offer, cost=Decimal("48.50"), actor=actor)
    offer.refresh_from_db()
    assert offer.cost == Decimal("48.50")
    sku = Sku.objects.get(pk=offer.sku_id)
    assert sku.cost_price == Decimal("48.50")
    change = PriceChange.objects.get(sku=sku, layer="cost")
    assert change.cause == "cost_change"
    assert change.actor == actor


def test_sku_cost_follows_the_cheapest_offer(offer):
    other = make_offer(make_supplier(), offer.sku, cost=Decimal("49.10"))
    update_offer_cost(offer=other, cost=Decimal("48.00"))
    assert Sku.objects.get(pk=offer.sku_id).cost_price == Decimal("48.00")


@pytest.mark.parametrize("bad", ["-1", "abc", "1.234", "NaN", "Infinity", None])
def test_invalid_cost_is_refused_and_nothing_changes(offer, bad):
    with pytest.raises(InvalidOfferCost):
        update_offer_cost(offer=offer, cost=bad)
    assert SupplierOffer.objects.get(pk=offer.pk).cost == Decimal("48.90")
    assert not PriceChange.objects.exists()


def test_string_cost_is_accepted(offer):
    update_offer_cost(offer=offer, cost="47")
    assert SupplierOffer.objects.get(pk=offer.pk).cost == Decimal("47.00")
