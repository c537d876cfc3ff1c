"""Top-ups through the sandbox supplier over real HTTP: delivery, failover, the
never-twice rule on unclear answers, callbacks, the sweeper, and final failure
with a refund and a ticket."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from catalog.models import SandboxOrder, SandboxProfile, Supplier, SupplierCall
from catalog.tasks.suppliers import sandbox_callback
from orders.checkout import pay_with_wallet, place_order
from orders.fulfilment import advance_fulfilment
from orders.models import Fulfilment, Order, Ticket
from orders.tasks import sweep_fulfilments_task
from tests.catalog.suppliers_factories import (
    make_offer,
    make_profile,
    make_supplier,
    make_topup_sku,
)
from tests.orders.factories import make_buyer

# Real threads serve the sandbox here; SQLite locks under them, so Postgres only.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ACCOUNT = {"phone": "13800138000"}
FIELDS = [{"key": "phone", "label": "手机号", "rule": "phone"}]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture(autouse=True)
def _no_supplier_call_inside_a_transaction(supplier_sends):
    """Network calls never run inside a transaction (a supplier that hangs would
    hold row locks for its whole timeout): checked on every send of every test."""
    yield
    assert [url for url, inside in supplier_sends if inside] == []


@pytest.fixture
def sandbox(live_server, settings):
    settings.SUPPLIER_CALLBACK_BASE_URL = live_server.url
    return live_server.url + "/sandbox/supplier/"


@pytest.fixture
def held_callbacks(monkeypatch):
    """The sandbox supplier's late callbacks, queued but held: a test runs one
    when it wants the supplier's worker to call back (eager Celery would run it
    at once, inside the submit)."""
    held = []
    monkeypatch.setattr(
        sandbox_callback, "apply_async", lambda **kw: held.append(kw["kwargs"])
    )
    return held


@pytest.fixture
def sku():
    return make_topup_sku(price=Decimal("49.60"), recharge_fields=FIELDS)


def offer_on(sandbox, sku, priority, **knobs):
    supplier = make_supplier(endpoint=sandbox)
    make_profile(supplier, **knobs)
    return make_offer(supplier, sku, priority=priority)


def buy(sku, balance=Decimal("100.00")):
    buyer = make_buyer(balance)
    order = place_order(sku=sku, quantity=1, buyer=buyer, recharge_account=ACCOUNT)
    pay_with_wallet(order=order, actor=buyer)  # the task runs eagerly after commit
    order.refresh_from_db()
    return order


def test_a_paid_top_up_is_delivered_by_the_supplier(sandbox, sku):
    offer_on(sandbox, sku, 1)
    order = buy(sku)
    assert order.status == Order.Status.DELIVERED
    assert order.delivery["trade_no"]
    assert [e.to_status for e in order.events.all()] == [
        "paid",
        "delivering",
        "delivered",
    ]
    assert SandboxOrder.objects.get().account == ACCOUNT


def test_a_failing_supplier_fails_over_to_the_next(sandbox, sku):
    bad = offer_on(sandbox, sku, 1, failure_rate=Decimal("1"))
    good = offer_on(sandbox, sku, 2)
    order = buy(sku)
    assert order.status == Order.Status.DELIVERED
    assert order.delivery["supplier_id"] == good.supplier_id
    job = Fulfilment.objects.get(order=order)
    assert job.tried_offers == [bad.pk]


def test_when_every_supplier_fails_the_buyer_is_refunded_and_a_ticket_opens(
    sandbox, sku
):
    offer_on(sandbox, sku, 1, failure_rate=Decimal("1"))
    offer_on(sandbox, sku, 2, failure_rate=Decimal("1"))
    order = buy(sku, balance=Decimal("60.00"))
    assert order.status == Order.Status.REFUNDED
    assert order.flag == Order.Flag.SUPPLIER_FAILURE
    order.buyer.wallet.refresh_from_db()
    assert order.buyer.wallet.balance == Decimal("60.00")
    ticket = Ticket.objects.get(order=order)
    assert (
        "Refunded" in ticket.messages.get().body or "退" in ticket.messages.get().body
    )


def test_an_unclear_answer_is_queried_never_submitted_twice(sandbox, sku):
    offer = offer_on(sandbox, sku, 1, timeout_rate=Decimal("1"), hang_seconds=2)
    Supplier.objects.filter(pk=offer.supplier_id).update(timeout_seconds=Decimal("0.5"))
    offer_on(sandbox, sku, 2)  # a healthy second offer that must NOT be used
    order = buy(sku)
    job = Fulfilment.objects.get(order=order)
    assert job.state == Fulfilment.State.SUBMITTED
    assert order.status == Order.Status.DELIVERING

    SandboxProfile.objects.filter(merchant_id=offer.supplier.merchant_id).update(
        timeout_rate=0
    )
    Fulfilment.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    advance_fulfilment(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert order.delivery["supplier_id"] == offer.supplier_id
    assert SandboxOrder.objects.count() == 1
    ops = list(
        SupplierCall.objects.filter(order_no=order.order_no)
        .order_by("id")
        .values_list("operation", flat=True)
    )
    assert ops == ["submit", "query"]


def test_a_breaker_opening_on_an_unclear_order_does_not_fail_it_over(sandbox, sku):
    offer = offer_on(sandbox, sku, 1, timeout_rate=Decimal("1"), hang_seconds=2)
    Supplier.objects.filter(pk=offer.supplier_id).update(timeout_seconds=Decimal("0.5"))
    second = offer_on(sandbox, sku, 2)
    order = buy(sku)  # timed out: the first supplier may hold the order
    job = Fulfilment.objects.get(order=order)
    assert job.state == Fulfilment.State.SUBMITTED

    Supplier.objects.filter(pk=offer.supplier_id).update(
        breaker_state=Supplier.Breaker.OPEN, breaker_changed_at=timezone.now()
    )
    Fulfilment.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    advance_fulfilment(order_id=order.pk)
    job.refresh_from_db()
    assert job.state == Fulfilment.State.SUBMITTED  # asked again later
    assert job.offer_id == offer.pk and job.next_attempt_at > timezone.now()
    assert not SupplierCall.objects.filter(supplier_id=second.supplier_id).exists()
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERING


def test_processing_then_callback_delivers_once_despite_duplicates(
    sandbox, sku, held_callbacks
):
    offer_on(
        sandbox,
        sku,
        1,
        processing_then_callback=True,
        callback_delay_ms=200,
        duplicate_callbacks=2,
    )
    order = buy(sku)
    assert order.status == Order.Status.DELIVERING
    # The sandbox's worker calls back three times, one after the other; each
    # returns once our endpoint has answered it.
    assert sandbox_callback.run(**held_callbacks.pop()) == 3
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert order.events.filter(to_status="delivered").count() == 1
    callbacks = SupplierCall.objects.filter(
        order_no=order.order_no, operation=SupplierCall.Operation.CALLBACK
    )
    assert callbacks.count() == 3


def test_the_sweeper_picks_up_what_a_lost_message_left(sandbox, sku, monkeypatch):
    offer_on(sandbox, sku, 1)
    # The queue loses the message: only the sweeper can find the job.
    monkeypatch.setattr("orders.signals.queue_fulfilment_step", lambda **kw: None)
    order = buy(sku)
    assert order.status == Order.Status.PAID
    assert sweep_fulfilments_task() == 1
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert sweep_fulfilments_task() == 0


def test_an_open_breaker_skips_the_supplier(sandbox, sku):
    broken = offer_on(sandbox, sku, 1)
    Supplier.objects.filter(pk=broken.supplier_id).update(
        breaker_state=Supplier.Breaker.OPEN, breaker_changed_at=timezone.now()
    )
    good = offer_on(sandbox, sku, 2)
    order = buy(sku)
    assert order.delivery["supplier_id"] == good.supplier_id
    assert not SupplierCall.objects.filter(supplier_id=broken.supplier_id).exists()


def test_a_top_up_not_due_is_left_alone(sandbox, sku, monkeypatch):
    offer_on(sandbox, sku, 1)
    monkeypatch.setattr("orders.signals.queue_fulfilment_step", lambda **kw: None)
    order = buy(sku)
    Fulfilment.objects.filter(order=order).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    assert advance_fulfilment(order_id=order.pk) is None
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_no_supplier_is_called_inside_a_transaction(
    sandbox, sku, supplier_sends, held_callbacks
):
    """Submit, an unclear answer, the query after it, the resubmission, failover
    and a callback: the adapter sends every request with no transaction open."""
    unclear = offer_on(sandbox, sku, 1, timeout_rate=Decimal("1"), hang_seconds=2)
    Supplier.objects.filter(pk=unclear.supplier_id).update(
        timeout_seconds=Decimal("0.5")
    )
    offer_on(sandbox, sku, 2, processing_then_callback=True)
    order = buy(sku)  # the submit times out: that supplier may hold it
    SandboxProfile.objects.filter(merchant_id=unclear.supplier.merchant_id).update(
        timeout_rate=0, failure_rate=1
    )
    SandboxOrder.objects.filter(order_no=order.order_no).delete()  # it never did
    Fulfilment.objects.filter(order=order).update(next_attempt_at=timezone.now())
    # Query ("not found"), resubmit (refused): that offer is dropped. Then the
    # next supplier answers "processing" and calls back.
    assert advance_fulfilment(order_id=order.pk) == Fulfilment.State.PENDING
    assert advance_fulfilment(order_id=order.pk) == Fulfilment.State.PROCESSING
    assert sandbox_callback.run(**held_callbacks.pop()) == 1
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert len(supplier_sends) == 4  # submit, query, submit, submit
    assert [inside for _url, inside in supplier_sends] == [False] * 4
