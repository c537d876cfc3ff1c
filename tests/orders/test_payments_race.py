"""Notifies racing each other (Postgres, real threads): 200 gateway orders, each
notify sent 2-5 times at the same moment while the settle-pending sweeper runs
too. Every order is paid once and delivered once; every notify gets a clean
answer; no database error is swallowed."""

import random
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count
from django.test import Client

from catalog.models import CardCode
from orders.checkout import place_order
from orders.models import Order, OrderEvent, Payment
from orders.payments import sandbox_remote
from orders.payments.services import (
    settle_pending_gateway_orders,
    start_gateway_payment,
)
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer, stock_codes
from tests.orders.payments_helpers import sandbox_message

ORDERS, WORKERS = 200, 24
BARRIER_TIMEOUT = 60


def _waves(orders, rng) -> list[list]:
    """Pack the copies of each order (2-5) into waves of at most WORKERS sends;
    all copies of one order go out in the same wave, at the same moment."""
    waves, wave = [], []
    for order in orders:
        copies = [order] * rng.randint(2, 5)
        if len(wave) + len(copies) > WORKERS:
            waves.append(wave)
            wave = []
        wave += copies
    return [*waves, wave] if wave else waves


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_notifies_pay_and_deliver_each_order_once(settings):
    settings.PAYMENT_QUERY_AFTER_MINUTES = 0  # the sweeper joins the race
    started = time.monotonic()
    skus = [make_sku(price=Decimal("5.00")) for _ in range(4)]
    for sku in skus:
        stock_codes(sku, ORDERS // len(skus) + 5)
    buyers = [make_buyer() for _ in range(10)]
    orders = []
    for i in range(ORDERS):
        order = place_order(sku=skus[i % len(skus)], quantity=1, buyer=buyers[i % 10])
        start_gateway_payment(order=order, channel="sandbox")
        orders.append(order)
    waves = _waves(orders, random.Random(5))
    trades: dict[str, str] = {}
    setup = time.monotonic() - started

    answers, errors = Counter(), []
    lock = threading.Lock()
    go = threading.Barrier(WORKERS + 1, timeout=BARRIER_TIMEOUT)
    done = threading.Barrier(WORKERS + 1, timeout=BARRIER_TIMEOUT)
    sweeping = threading.Event()

    def worker(slot: int):
        client = Client()
        try:
            for wave in waves:
                order = wave[slot] if slot < len(wave) else None
                go.wait()
                if order is not None:
                    try:
                        body, headers = sandbox_message(
                            order, trade_no=trades[order.order_no]
                        )
                        response = client.post(
                            "/pay/sandbox/notify/",
                            data=body,
                            content_type="application/json",
                            headers=headers,
                        )
                        with lock:
                            answers[(response.status_code, response.content)] += 1
                    except Exception as exc:  # noqa: BLE001 - fails the test
                        errors.append(repr(exc))
                done.wait()
        except threading.BrokenBarrierError as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    def sweep():
        try:
            while not sweeping.is_set():
                settle_pending_gateway_orders(limit=WORKERS)
                time.sleep(0.1)
        except Exception as exc:  # noqa: BLE001 - fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    threads.append(threading.Thread(target=sweep))
    for thread in threads:
        thread.start()
    racing = time.monotonic()
    try:
        for wave in waves:
            for order in {o.order_no: o for o in wave}.values():
                # The buyer pays now: the sweeper may see it as soon as the notifies.
                trade = sandbox_remote.finish_trade(order_no=order.order_no, pay=True)
                trades[order.order_no] = trade["trade_no"]
            go.wait()
            done.wait()
    finally:
        sweeping.set()
        for thread in threads:
            thread.join()
    elapsed = time.monotonic() - racing
    sent = sum(len(wave) for wave in waves)

    assert errors == []
    assert answers == {(200, b'{"ok": true}'): sent}
    assert Order.objects.filter(status="delivered").count() == ORDERS
    assert Payment.objects.count() == ORDERS
    assert not Payment.objects.exclude(outcome="settled").exists()
    per_order = Payment.objects.values("order").annotate(n=Count("id"))
    assert {row["n"] for row in per_order} == {1}
    paid_events = OrderEvent.objects.filter(to_status="paid")
    assert paid_events.count() == ORDERS
    assert paid_events.values("order").distinct().count() == ORDERS
    sold = CardCode.objects.filter(status="sold")
    assert sold.count() == ORDERS
    assert sold.values("order_ref").distinct().count() == ORDERS
    by_query = Payment.objects.filter(raw_notify__via="query").count()
    print(
        f"\n{sent} notifies for {ORDERS} orders in {len(waves)} waves, "
        f"{elapsed:.1f}s (setup {setup:.1f}s); {by_query} settled first by the sweeper"
    )
