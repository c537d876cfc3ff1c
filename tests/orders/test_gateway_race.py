"""Many buyers race for a small pool of codes, paying through the sandbox gateway
(Postgres, real threads): exactly the pool is sold, all distinct; every attempt
that lost the race got "sold out" and its gateway money back in the wallet at
once; no order is ever left paid without its codes.

Once the last code is sold the stock check pauses the SKU (sold out), so later
attempts are refused at checkout, before any money moves."""

import os
import threading
import time
import urllib.parse
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.test import Client

from catalog.models import CardCode, StockAlert
from orders.checkout import place_order
from orders.exceptions import CheckoutRefused
from orders.models import Order, Payment
from orders.payments import sandbox_remote
from orders.payments.services import start_gateway_payment
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer, stock_codes
from users.models import LedgerEntry, Wallet

# The figures; KAMENG_RACE_SCALE=0.2 shrinks them for a quick local run.
SCALE = float(os.environ.get("KAMENG_RACE_SCALE", "1"))
BUYERS, CODES, ATTEMPTS = 64, int(500 * SCALE), int(2000 * SCALE)
PRICE = Decimal("3.00")
START_BALANCE = Decimal("10.00")  # every buyer has a wallet before the race
BARRIER_TIMEOUT = 60


def _pay_at_sandbox(client: Client, order: Order) -> dict:
    """What the buyer and the sandbox gateway do: open the trade, press "pay",
    then the gateway posts its signed notify to the trade's notify URL."""
    start_gateway_payment(order=order, channel="sandbox")
    trade = sandbox_remote.finish_trade(order_no=order.order_no, pay=True)
    body, headers = sandbox_remote.signed_notify(
        key=sandbox_remote.sandbox_key(), payload=sandbox_remote.notify_payload(trade)
    )
    response = client.post(
        urllib.parse.urlsplit(trade["notify_url"]).path,
        data=body,
        content_type="application/json",
        headers=headers,
    )
    assert (response.status_code, response.json()) == (200, {"ok": True})
    return trade


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_gateway_buyers_racing_for_codes_get_exactly_the_pool():
    sku = make_sku(price=PRICE, max_quantity=5)
    stock_codes(sku, CODES)
    buyers = [make_buyer(START_BALANCE) for _ in range(BUYERS)]
    # ATTEMPTS spread over the buyers, the first ones taking one more if uneven.
    shares = [
        ATTEMPTS // BUYERS + (1 if i < ATTEMPTS % BUYERS else 0) for i in range(BUYERS)
    ]
    outcomes: Counter = Counter()
    trade_nos: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(BUYERS, timeout=BARRIER_TIMEOUT)

    def shop(buyer, attempts):
        client = Client()
        try:
            start.wait()
            for _ in range(attempts):
                try:
                    order = place_order(sku=sku, quantity=1, buyer=buyer)
                except CheckoutRefused:  # paused: sold out, nothing charged
                    with lock:
                        outcomes[("refused", "")] += 1
                    continue
                trade = _pay_at_sandbox(client, order)
                order.refresh_from_db()
                with lock:
                    outcomes[(order.status, order.flag)] += 1
                    trade_nos.append(trade["trade_no"])
        except Exception as exc:  # noqa: BLE001 - any error fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=shop, args=(buyer, share))
        for buyer, share in zip(buyers, shares, strict=True)
    ]
    racing = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - racing

    assert errors == []
    # Each attempt saw its own outcome at once: delivered; or paid, sold out and
    # refunded; or refused at checkout once the SKU was paused as sold out.
    lost = outcomes[("refunded", "sold_out")]
    refused = outcomes[("refused", "")]
    paid = CODES + lost
    assert set(outcomes) <= {
        ("delivered", ""),
        ("refunded", "sold_out"),
        ("refused", ""),
    }
    assert outcomes[("delivered", "")] == CODES
    assert paid + refused == ATTEMPTS
    assert len(set(trade_nos)) == paid
    assert Order.objects.count() == paid  # a refused attempt wrote nothing

    sold = CardCode.objects.filter(status="sold")
    assert sold.count() == CODES
    assert sold.values("order_ref").distinct().count() == CODES
    assert sold.values("code_hash").distinct().count() == CODES
    delivered = Order.objects.filter(status="delivered")
    assert delivered.count() == CODES
    assert set(sold.values_list("order_ref", flat=True)) == set(
        delivered.values_list("order_no", flat=True)
    )
    assert all(len(o.delivery["code_ids"]) == 1 for o in delivered)
    sku.refresh_from_db()
    assert sku.stock == 0
    assert (sku.is_active, sku.auto_paused) == (False, True)
    assert StockAlert.objects.filter(sku=sku, kind="out", status="open").exists()

    # Nobody is left paid without codes; the losers got every cent back.
    assert not Order.objects.filter(status="paid").exists()
    assert not Order.objects.exclude(status__in=["delivered", "refunded"]).exists()
    refunded = Order.objects.filter(status="refunded")
    assert refunded.count() == lost
    assert not refunded.exclude(flag="sold_out").exists()
    assert not refunded.exclude(refunded_amount=PRICE).exists()
    assert all(o.delivery["note"] for o in refunded)

    # One Payment per order and per notify: settled for the winners, credited to
    # the wallet for the losers.
    assert Payment.objects.count() == paid
    per_order = Payment.objects.values("order").annotate(n=Count("id"))
    assert {row["n"] for row in per_order} == {1}
    assert Counter(Payment.objects.values_list("outcome", flat=True)) == {
        "settled": CODES,
        "refunded_to_wallet": lost,
    }
    assert not Payment.objects.filter(outcome="settled", order__in=refunded).exists()

    # The gateway money of a lost attempt went to the buyer's wallet; the winners
    # paid the gateway, not the wallet.
    assert not LedgerEntry.objects.filter(kind="purchase").exists()
    refunds = LedgerEntry.objects.filter(kind="refund")
    assert refunds.count() == lost
    assert set(refunds.values_list("reference", flat=True)) == set(
        refunded.values_list("order_no", flat=True)
    )
    lost_by_buyer = Counter(refunded.values_list("buyer_id", flat=True))
    assert Wallet.objects.count() == BUYERS
    for wallet in Wallet.objects.all():
        ledger = wallet.entries.aggregate(total=Sum("amount"))["total"]
        assert wallet.balance == ledger
        assert wallet.balance == START_BALANCE + PRICE * lost_by_buyer[wallet.user_id]
    print(
        f"\n{BUYERS} buyers, {ATTEMPTS} attempts for {CODES} codes: {paid} paid "
        f"through the gateway ({lost} sold out and refunded), {refused} refused "
        f"at checkout; {elapsed:.1f}s ({ATTEMPTS / elapsed:.0f} attempts/s)"
    )
