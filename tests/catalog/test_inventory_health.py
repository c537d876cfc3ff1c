"""Supplier and offer health from recorded calls (catalog.selectors.health)."""

from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.utils import timezone

from catalog.models import Sku, Supplier, SupplierCall, SupplierOffer
from catalog.selectors.health import offer_health, percentile_cont, supplier_health
from tests.catalog.factories import make_sku

_seq = count(1)


def make_supplier(**fields) -> Supplier:
    n = next(_seq)
    fields.setdefault("name", f"货源{n}")
    fields.setdefault("endpoint", "http://127.0.0.1:9/api")
    fields.setdefault("merchant_id", f"m{n}")
    return Supplier.objects.create(**fields)


def make_offer(sku=None, supplier=None, **fields) -> SupplierOffer:
    sku = sku or make_sku(delivery_type=Sku.DeliveryType.TOPUP)
    supplier = supplier or make_supplier()
    fields.setdefault("supplier_sku", f"S{next(_seq)}")
    fields.setdefault("cost", Decimal("9.00"))
    return SupplierOffer.objects.create(sku=sku, supplier=supplier, **fields)


def record_calls(offer, outcomes_latencies, *, ago=timedelta(minutes=1)):
    """Record calls of an offer, `ago` before now (oldest first)."""
    calls = SupplierCall.objects.bulk_create(
        SupplierCall(
            supplier_id=offer.supplier_id,
            offer=offer,
            operation=SupplierCall.Operation.SUBMIT,
            outcome=outcome,
            latency_ms=latency,
        )
        for outcome, latency in outcomes_latencies
    )
    SupplierCall.objects.filter(pk__in=[c.pk for c in calls]).update(
        created_at=timezone.now() - ago
    )
    return calls


def calls(n_ok, n_failed, latency=100):
    return [("success", latency)] * n_ok + [("timeout", latency)] * n_failed


@pytest.mark.django_db
def test_success_rate_and_percentiles_come_from_recorded_calls():
    offer = make_offer()
    record_calls(
        offer,
        [
            ("success", 100),
            ("processing", 200),
            ("failed", 300),
            ("timeout", 400),
            ("success", 500),
        ],
    )
    health = supplier_health(supplier_ids=[offer.supplier_id])[offer.supplier_id]
    assert health.calls == 5
    assert health.successes == 3
    assert health.success_rate == pytest.approx(0.6)
    assert health.p50_ms == pytest.approx(300)
    assert health.p95_ms == pytest.approx(480)  # 400 + 0.8 * 100
    assert health.breaker_state == "closed"
    assert offer_health(offer_ids=[offer.pk])[offer.pk].calls == 5


@pytest.mark.django_db
def test_every_failure_outcome_counts_as_failure():
    offer = make_offer()
    failures = ["failed", "timeout", "error", "bad_response", "rejected"]
    record_calls(offer, [(o, 10) for o in failures])
    health = offer_health(offer_ids=[offer.pk])[offer.pk]
    assert (health.calls, health.successes, health.success_rate) == (5, 0, 0.0)


@pytest.mark.django_db
def test_supplier_without_calls_is_listed_and_healthy():
    supplier = make_supplier()
    health = supplier_health()[supplier.pk]
    assert health.calls == 0
    assert health.success_rate is None and health.p50_ms is None
    assert health.degraded is False


@pytest.mark.django_db
def test_calls_outside_the_window_or_beyond_max_calls_are_ignored():
    offer = make_offer()
    record_calls(offer, calls(0, 10), ago=timedelta(hours=3))  # too old
    record_calls(offer, calls(0, 5), ago=timedelta(minutes=30))  # older of recent
    record_calls(offer, calls(5, 0), ago=timedelta(minutes=1))  # newest
    assert offer_health(offer_ids=[offer.pk])[offer.pk].calls == 10
    newest = offer_health(offer_ids=[offer.pk], max_calls=5)[offer.pk]
    assert (newest.calls, newest.success_rate) == (5, 1.0)
    wide = offer_health(offer_ids=[offer.pk], window=timedelta(hours=4))[offer.pk]
    assert wide.calls == 20


@pytest.mark.django_db
def test_degraded_when_breaker_open_or_success_rate_low(settings):
    settings.SUPPLIER_HEALTH_MIN_CALLS = 10
    settings.SUPPLIER_HEALTH_MIN_SUCCESS_RATE = 0.8
    good, flaky, few, broken = (make_offer() for _ in range(4))
    record_calls(good, calls(9, 1))  # 90 %
    record_calls(flaky, calls(7, 3))  # 70 % of 10 calls
    record_calls(few, calls(0, 3))  # bad, but too few calls to judge
    Supplier.objects.filter(pk=broken.supplier_id).update(breaker_state="open")
    health = supplier_health()
    assert health[good.supplier_id].degraded is False
    assert health[flaky.supplier_id].degraded is True
    assert health[few.supplier_id].degraded is False
    assert health[broken.supplier_id].degraded is True
    offers = offer_health()
    assert offers[broken.pk].breaker_state == "open" and offers[broken.pk].degraded


@pytest.mark.django_db
def test_health_costs_two_queries_for_any_number_of_suppliers(
    django_assert_num_queries,
):
    for _ in range(12):
        record_calls(make_offer(), calls(3, 1))
    with django_assert_num_queries(2):
        assert len(supplier_health()) == 12
    with django_assert_num_queries(2):
        assert len(offer_health()) == 12


@pytest.mark.django_db
def test_offer_health_for_some_skus_only():
    first, second = make_offer(), make_offer()
    assert set(offer_health(sku_ids=[first.sku_id])) == {first.pk}
    assert second.pk in offer_health()


def test_percentile_matches_postgres_percentile_cont():
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([7], 0.95) == 7
    assert percentile_cont([1, 2, 3, 4], 0.5) == pytest.approx(2.5)
    assert percentile_cont(list(range(1, 101)), 0.95) == pytest.approx(95.05)


@pytest.mark.django_db
def test_bad_max_calls_is_refused():
    offer = make_offer()
    with pytest.raises(ValueError):
        offer_health(offer_ids=[offer.pk], max_calls=0)
