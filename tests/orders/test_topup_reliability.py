"""Top-ups under a badly behaved supplier: failures, timeouts, garbage and
duplicate callbacks. Every paid order ends delivered or refunded, exactly once,
and no supplier that accepted an order is sent it again."""

import time
from collections import Counter
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db.models import Sum
from django.utils import timezone

from catalog.models import SandboxOrder, Supplier, SupplierCall
from orders.checkout import pay_with_wallet, place_order
from orders.fulfilment import advance_fulfilment, due_fulfilments
from orders.models import Fulfilment, Order
from tests.catalog.suppliers_factories import (
    make_offer,
    make_profile,
    make_supplier,
    make_topup_sku,
)
from tests.orders.factories import make_buyer
from users.models import Wallet

# Real threads serve the sandbox here; SQLite locks under them, so Postgres only.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sandbox(live_server, settings):
    cache.clear()
    settings.SUPPLIER_CALLBACK_BASE_URL = live_server.url
    settings.SUPPLIER_BREAKER_THRESHOLD = 1000  # keep both in rotation
    return live_server.url + "/sandbox/supplier/"


def test_a_flaky_supplier_never_delivers_twice_or_loses_an_order(sandbox):
    sku = make_topup_sku(
        price=Decimal("10.00"),
        recharge_fields=[{"key": "phone", "label": "手机号", "rule": "phone"}],
    )
    flaky = []
    for priority in (1, 2):
        supplier = make_supplier(endpoint=sandbox, timeout_seconds=Decimal("0.4"))
        make_profile(
            supplier,
            failure_rate=Decimal("0.3"),
            timeout_rate=Decimal("0.1"),
            hang_seconds=1,
            garbage_rate=Decimal("0.05"),
            processing_then_callback=priority == 1,
            callback_delay_ms=50,
            duplicate_callbacks=2,
        )
        make_offer(supplier, sku, priority=priority)
        flaky.append(supplier)

    buyers = [make_buyer(Decimal("100.00")) for _ in range(6)]
    orders = []
    for n in range(24):
        buyer = buyers[n % len(buyers)]
        order = place_order(
            sku=sku, quantity=1, buyer=buyer, recharge_account={"phone": "13800138000"}
        )
        pay_with_wallet(order=order, actor=buyer)
        orders.append(order)

    # The sweeper's work, sped up: make everything due and advance until settled.
    deadline = time.monotonic() + 240  # generous: CI machines are shared
    final = {Order.Status.DELIVERED, Order.Status.REFUNDED}
    while time.monotonic() < deadline:
        open_ = Order.objects.filter(pk__in=[o.pk for o in orders]).exclude(
            status__in=final
        )
        if not open_.exists():
            break
        Fulfilment.objects.exclude(state__in=["succeeded", "failed"]).update(
            next_attempt_at=timezone.now()
        )
        for order_id in due_fulfilments():
            advance_fulfilment(order_id=order_id)
        time.sleep(0.2)

    statuses = Counter(
        Order.objects.filter(pk__in=[o.pk for o in orders]).values_list(
            "status", flat=True
        )
    )
    assert set(statuses) <= final, statuses
    assert sum(statuses.values()) == 24

    for order in Order.objects.filter(pk__in=[o.pk for o in orders]):
        accepted = SandboxOrder.objects.filter(
            order_no=order.order_no, status="success"
        )
        if order.status == Order.Status.DELIVERED:
            assert accepted.count() == 1, order.order_no
            assert order.events.filter(to_status="delivered").count() == 1
        else:
            assert accepted.count() == 0, order.order_no
        # Once a supplier accepted the order (said success or processing), it is
        # never sent a submission for it again.
        for supplier in flaky:
            calls = list(
                SupplierCall.objects.filter(supplier=supplier, order_no=order.order_no)
                .exclude(operation="callback")
                .order_by("id")
                .values_list("operation", "outcome")
            )
            accepted_at = next(
                (
                    i
                    for i, (_op, outcome) in enumerate(calls)
                    if outcome in ("success", "processing")
                ),
                None,
            )
            if accepted_at is not None:
                later = [op for op, _outcome in calls[accepted_at + 1 :]]
                assert "submit" not in later, (order.order_no, calls)

    for wallet in Wallet.objects.filter(user__in=buyers):
        assert wallet.balance == wallet.entries.aggregate(s=Sum("amount"))["s"]
    refunded = statuses.get(Order.Status.REFUNDED, 0)
    spent = Decimal("10.00") * (24 - refunded)
    total = sum(w.balance for w in Wallet.objects.filter(user__in=buyers))
    assert total == Decimal("600.00") - spent
    assert Supplier.objects.count() == 2
