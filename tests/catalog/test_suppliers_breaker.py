"""Circuit breaker and offer choice: a failing supplier leaves the rotation,
gets one trial after the cool-down, and comes back on success."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from catalog.models import SandboxProfile, Supplier, SupplierCall
from catalog.services.suppliers import (
    call_supplier,
    healthy_offers,
    record_call,
    reset_breaker,
)
from catalog.suppliers import SupplierUnavailable, SupplierUnreachable
from tests.catalog.suppliers_factories import (
    make_offer,
    make_profile,
    make_supplier,
    make_topup_sku,
)

Breaker = Supplier.Breaker


@pytest.fixture(autouse=True)
def _settings(settings):
    cache.clear()
    settings.SUPPLIER_BREAKER_THRESHOLD = 3
    settings.SUPPLIER_BREAKER_COOLDOWN_SECONDS = 60


def submit(offer, order_no="KM1"):
    return call_supplier(
        offer=offer,
        operation=SupplierCall.Operation.SUBMIT,
        order_no=order_no,
        account={"phone": "13800138000"},
        callback_url="http://127.0.0.1:9/cb/",
    )


def state(supplier):
    supplier.refresh_from_db()
    return supplier.breaker_state


def age_breaker(supplier, seconds=61):
    Supplier.objects.filter(pk=supplier.pk).update(
        breaker_changed_at=timezone.now() - timedelta(seconds=seconds)
    )


@pytest.fixture
def dead_offer(db):
    """An offer whose supplier refuses connections (port 9, discard)."""
    return make_offer(make_supplier(endpoint="http://127.0.0.1:9/api/"))


def test_breaker_opens_after_threshold_consecutive_failures(dead_offer):
    supplier = dead_offer.supplier
    for n in range(2):
        with pytest.raises(SupplierUnreachable):
            submit(dead_offer, order_no=f"KM{n}")
        assert state(supplier) == Breaker.CLOSED
    with pytest.raises(SupplierUnreachable):
        submit(dead_offer, order_no="KM3")
    assert state(supplier) == Breaker.OPEN
    assert supplier.consecutive_failures == 3


def test_open_breaker_refuses_without_calling(dead_offer):
    for n in range(3):
        with pytest.raises(SupplierUnreachable):
            submit(dead_offer, order_no=f"KM{n}")
    with pytest.raises(SupplierUnavailable):
        submit(dead_offer, order_no="KM-next")
    assert SupplierCall.objects.count() == 3
    assert healthy_offers(sku=dead_offer.sku) == []


def test_failed_trial_reopens(dead_offer):
    supplier = dead_offer.supplier
    for n in range(3):
        with pytest.raises(SupplierUnreachable):
            submit(dead_offer, order_no=f"KM{n}")
    age_breaker(supplier)
    assert healthy_offers(sku=dead_offer.sku) == [dead_offer]
    with pytest.raises(SupplierUnreachable):
        submit(dead_offer, order_no="KM-trial")
    assert state(supplier) == Breaker.OPEN
    assert supplier.breaker_changed_at > timezone.now() - timedelta(seconds=5)


def test_half_open_admits_one_trial_only(dead_offer):
    supplier = dead_offer.supplier
    Supplier.objects.filter(pk=supplier.pk).update(
        breaker_state=Breaker.HALF_OPEN, breaker_changed_at=timezone.now()
    )
    with pytest.raises(SupplierUnavailable):
        submit(dead_offer)
    assert healthy_offers(sku=dead_offer.sku) == []
    age_breaker(supplier)  # the trial never reported: another one may go
    assert healthy_offers(sku=dead_offer.sku) == [dead_offer]


def test_success_counts_reset_consecutive_failures(dead_offer):
    supplier = dead_offer.supplier
    for outcome in ("error", "timeout", "success", "error", "error"):
        record_call(
            supplier=supplier,
            offer=dead_offer,
            operation="submit",
            order_no="KM",
            outcome=outcome,
            latency_ms=10,
        )
    assert state(supplier) == Breaker.CLOSED
    assert supplier.consecutive_failures == 2


@pytest.mark.django_db(transaction=True)
def test_breaker_half_opens_after_cooldown_and_closes_on_success(live_server):
    supplier = make_supplier(endpoint=live_server.url + "/sandbox/supplier/")
    make_profile(supplier, failure_rate=Decimal("1"))
    offer = make_offer(supplier)
    for n in range(3):
        assert submit(offer, order_no=f"KM{n}").status == "failed"
    assert state(supplier) == Breaker.OPEN
    with pytest.raises(SupplierUnavailable):
        submit(offer, order_no="KM-x")
    SandboxProfile.objects.update(failure_rate=0)
    age_breaker(supplier)
    assert submit(offer, order_no="KM-trial").status == "success"
    assert state(supplier) == Breaker.CLOSED
    assert supplier.consecutive_failures == 0


def test_buyer_fault_does_not_count_against_supplier(dead_offer):
    supplier = dead_offer.supplier
    for _n in range(5):
        record_call(
            supplier=supplier,
            offer=dead_offer,
            operation="submit",
            order_no="KM",
            outcome="failed",
            latency_ms=10,
            failure=False,  # e.g. code invalid_account
        )
    assert state(supplier) == Breaker.CLOSED


def test_reset_breaker_puts_supplier_back(dead_offer):
    supplier = dead_offer.supplier
    Supplier.objects.filter(pk=supplier.pk).update(
        breaker_state=Breaker.OPEN,
        breaker_changed_at=timezone.now(),
        consecutive_failures=9,
    )
    reset_breaker(supplier=supplier)
    assert state(supplier) == Breaker.CLOSED
    assert supplier.consecutive_failures == 0
    assert healthy_offers(sku=dead_offer.sku) == [dead_offer]


def test_disabled_supplier_is_not_called(dead_offer):
    Supplier.objects.filter(pk=dead_offer.supplier_id).update(enabled=False)
    dead_offer.supplier.refresh_from_db()
    with pytest.raises(SupplierUnavailable):
        submit(dead_offer)
    assert not SupplierCall.objects.exists()


# -- healthy_offers ---------------------------------------------------------------
@pytest.fixture
def three_offers(db):
    sku = make_topup_sku()
    a = make_offer(make_supplier(name="A"), sku, priority=20)
    b = make_offer(make_supplier(name="B"), sku, priority=10)
    c = make_offer(make_supplier(name="C"), sku, priority=30)
    return sku, a, b, c


def test_offers_come_by_priority(three_offers):
    sku, a, b, c = three_offers
    assert healthy_offers(sku=sku) == [b, a, c]


def test_disabled_and_open_are_excluded(three_offers):
    sku, a, b, c = three_offers
    a.enabled = False
    a.save()
    Supplier.objects.filter(pk=b.supplier_id).update(
        breaker_state=Breaker.OPEN, breaker_changed_at=timezone.now()
    )
    make_offer(make_supplier(name="D", enabled=False), sku, priority=1)
    make_offer(make_supplier(name="E"), make_topup_sku(), priority=1)  # other SKU
    assert healthy_offers(sku=sku) == [c]


def test_prefer_fastest_orders_by_p50_latency(three_offers):
    sku, a, b, c = three_offers
    for offer, latency in ((a, 100), (b, 900), (c, 300)):
        for _n in range(5):
            record_call(
                supplier=offer.supplier,
                offer=offer,
                operation="submit",
                order_no="KM",
                outcome="success",
                latency_ms=latency,
            )
    assert healthy_offers(sku=sku, prefer_fastest=True) == [a, c, b]
    assert healthy_offers(sku=sku) == [b, a, c]


def test_prefer_fastest_puts_suppliers_without_figures_last(three_offers):
    sku, a, b, c = three_offers
    record_call(
        supplier=c.supplier,
        offer=c,
        operation="submit",
        order_no="KM",
        outcome="success",
        latency_ms=500,
    )
    assert healthy_offers(sku=sku, prefer_fastest=True) == [c, b, a]


def test_healthy_offers_costs_few_queries(three_offers, django_assert_max_num_queries):
    sku = three_offers[0]
    with django_assert_max_num_queries(3):
        offers = healthy_offers(sku=sku, prefer_fastest=True)
        [o.supplier.name for o in offers]
