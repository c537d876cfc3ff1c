"""Cost-plus pricing: cost × (1 + margin), rounded, clamped, written to history."""

from decimal import Decimal

import pytest

from catalog.models import CostPlusRule, PriceChange, Sku, Supplier, SupplierOffer
from catalog.services.pricing import (
    PricingError,
    apply_cost_plus,
    cost_plus_price,
    record_price_change,
)
from tests.catalog.factories import make_sku

D = Decimal


def rule(margin="0", rounding="0.01", floor=None, ceiling=None):
    return CostPlusRule(
        margin_percent=D(margin),
        rounding=rounding,
        floor=None if floor is None else D(floor),
        ceiling=None if ceiling is None else D(ceiling),
    )


@pytest.mark.parametrize(
    ("cost", "margin", "rounding", "expected"),
    [
        ("10.00", "2.3", "0.01", "10.23"),
        ("9.99", "3.333", "0.01", "10.32"),  # 10.322967 half up
        ("10.00", "2.5", "0.10", "10.30"),  # 10.25 half up → 10.3
        ("10.00", "2.4", "0.10", "10.20"),
        ("10.00", "4.9", "1", "10.00"),
        ("10.00", "5", "1", "11.00"),  # 10.5 half up
        ("10.00", "2.3", "x.9", "10.90"),  # 10.23 → 10.90
        ("10.00", "9.5", "x.9", "11.90"),  # 10.95 → 11.90
        ("10.00", "9", "x.9", "10.90"),  # exactly 10.90 stays
        ("10.00", "-95", "x.9", "0.90"),
    ],
)
def test_rounding_modes(cost, margin, rounding, expected):
    assert cost_plus_price(cost=D(cost), rule=rule(margin, rounding)) == D(expected)


def test_price_is_clamped_to_floor_and_ceiling():
    assert cost_plus_price(cost=D("5"), rule=rule("10", floor="6")) == D("6.00")
    assert cost_plus_price(cost=D("50"), rule=rule("10", ceiling="54")) == D("54.00")
    assert cost_plus_price(cost=D("50"), rule=rule("10", "x.9", "1", "60")) == D(
        "55.90"
    )


def test_a_free_cost_never_makes_a_zero_price():
    assert cost_plus_price(cost=D("0"), rule=rule("10")) == D("0.01")


@pytest.fixture
def topup(db):
    sku = make_sku(
        delivery_type=Sku.DeliveryType.TOPUP, price=D("50.00"), cost_price=D("48.00")
    )
    CostPlusRule.objects.create(sku=sku, margin_percent=D("2"), rounding="0.10")
    return sku


def offer(sku, name, cost, enabled=True, supplier_enabled=True):
    supplier = Supplier.objects.create(
        name=name,
        endpoint="http://127.0.0.1/",
        merchant_id=name,
        enabled=supplier_enabled,
    )
    return SupplierOffer.objects.create(
        supplier=supplier, sku=sku, supplier_sku="X", cost=D(cost), enabled=enabled
    )


def test_topup_sku_is_repriced_from_its_cheapest_enabled_offer(topup, role_user):
    offer(topup, "A", "47.00")
    offer(topup, "B", "46.00")
    offer(topup, "C", "40.00", enabled=False)
    offer(topup, "D", "41.00", supplier_enabled=False)
    actor = role_user("operations")
    apply_cost_plus(sku=topup, cause="cost_change", actor=actor, note="B cheaper")
    topup.refresh_from_db()
    assert topup.cost_price == D("46.00")
    assert topup.price == D("46.90")  # 46.92 → 46.9
    rows = {r.layer: r for r in PriceChange.objects.filter(sku=topup)}
    assert (rows["cost"].old_price, rows["cost"].new_price) == (D("48"), D("46"))
    assert (rows["base"].old_price, rows["base"].new_price) == (D("50"), D("46.90"))
    assert {r.cause for r in rows.values()} == {"cost_change"}
    assert rows["base"].actor == actor
    assert rows["cost"].note == "B cheaper"
    assert "46" not in rows["base"].note  # base rows never show the cost


def test_repeating_it_changes_nothing_and_writes_no_history(topup):
    offer(topup, "A", "47.00")
    apply_cost_plus(sku=topup, cause="cost_change")
    apply_cost_plus(sku=topup, cause="cost_change")
    assert PriceChange.objects.filter(sku=topup).count() == 2


def test_without_offers_the_sku_cost_price_is_used(topup):
    apply_cost_plus(sku=topup, cause="rule")
    topup.refresh_from_db()
    assert topup.cost_price == D("48.00")
    assert topup.price == D("49.00")  # 48.96 → 49.0
    assert list(PriceChange.objects.values_list("layer", "cause")) == [("base", "rule")]


def test_card_sku_uses_cost_price_and_keeps_it(db):
    sku = make_sku(price=D("10.00"), cost_price=D("9.00"))
    CostPlusRule.objects.create(sku=sku, margin_percent=D("5"), rounding="x.9")
    apply_cost_plus(sku=sku, cause="rule")
    sku.refresh_from_db()
    assert (sku.cost_price, sku.price) == (D("9.00"), D("9.90"))


def test_disabled_rule_updates_cost_but_not_price(topup):
    CostPlusRule.objects.filter(sku=topup).update(enabled=False)
    offer(topup, "A", "30.00")
    apply_cost_plus(sku=topup, cause="cost_change")
    topup.refresh_from_db()
    assert (topup.cost_price, topup.price) == (D("30.00"), D("50.00"))
    assert list(PriceChange.objects.values_list("layer", flat=True)) == ["cost"]


def test_the_callers_object_sees_the_new_prices(topup):
    offer(topup, "A", "30.00")
    apply_cost_plus(sku=topup, cause="cost_change")
    assert topup.price == D("30.60")
    assert topup.cost_price == D("30.00")


def test_record_price_change_skips_no_change_and_refuses_unknown_cause(db):
    sku = make_sku()
    assert (
        record_price_change(
            sku=sku, layer="base", old=D("1"), new=D("1.00"), cause="manual"
        )
        is None
    )
    row = record_price_change(
        sku=sku, layer="tier:10", old=None, new=D("9"), cause="import", note="x" * 300
    )
    assert row.old_price is None and len(row.note) == 200
    with pytest.raises(PricingError):
        record_price_change(sku=sku, layer="base", old=1, new=2, cause="whim")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_repricing_writes_one_history_row_per_change():
    import threading

    from django.db import connection

    sku = make_sku(
        delivery_type=Sku.DeliveryType.TOPUP, price=D("50.00"), cost_price=D("48.00")
    )
    CostPlusRule.objects.create(sku=sku, margin_percent=D("2"), rounding="0.10")
    offer(sku, "A", "40.00")
    barrier = threading.Barrier(4)
    failures = []

    def run():
        try:
            barrier.wait()
            apply_cost_plus(sku=Sku.objects.get(pk=sku.pk), cause="cost_change")
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert sorted(PriceChange.objects.values_list("layer", flat=True)) == [
        "base",
        "cost",
    ]
    sku.refresh_from_db()
    assert (sku.cost_price, sku.price) == (D("40.00"), D("40.80"))
