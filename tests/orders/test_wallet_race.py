"""Many buyers race for a small pool of codes with wallet balance (Postgres, real
threads): exactly the pool is sold, all distinct, nobody charged for nothing."""

import os
import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from catalog.models import CardCode
from orders.checkout import buy_with_wallet, pay_with_wallet, place_order
from orders.exceptions import CheckoutRefused, SoldOut
from orders.models import Order
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer, stock_codes
from users.models import LedgerEntry, Wallet

# The figures; KAMENG_RACE_SCALE=0.2 shrinks them for a quick local run.
SCALE = float(os.environ.get("KAMENG_RACE_SCALE", "1"))
BUYERS, CODES, ATTEMPTS = 64, int(500 * SCALE), int(2000 * SCALE)


def storefront_checkout(sku, buyer):
    """What the shop's buy button does: place and pay in one transaction."""
    buy_with_wallet(sku=sku, quantity=1, buyer=buyer)


def pay_an_unpaid_order(sku, buyer):
    """An order placed first and paid from its page afterwards."""
    pay_with_wallet(order=place_order(sku=sku, quantity=1, buyer=buyer), actor=buyer)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("buy", [storefront_checkout, pay_an_unpaid_order])
def test_buyers_racing_for_codes_get_exactly_the_pool(buy):
    sku = make_sku(price=Decimal("1.00"), max_quantity=5)
    stock_codes(sku, CODES)
    buyers = [make_buyer(Decimal("100.00")) for _ in range(BUYERS)]
    outcomes, errors = Counter(), []
    lock = threading.Lock()
    start = threading.Barrier(BUYERS)

    def shop(buyer, attempts):
        try:
            start.wait()
            for _ in range(attempts):
                try:
                    buy(sku, buyer)
                    result = "sold"
                except (SoldOut, CheckoutRefused):
                    # Sold out at payment, or refused at checkout once the empty
                    # SKU was paused: either way nothing was charged.
                    result = "sold_out"
                with lock:
                    outcomes[result] += 1
        except Exception as exc:  # noqa: BLE001 - any other error fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    per_buyer = ATTEMPTS // BUYERS
    threads = [threading.Thread(target=shop, args=(b, per_buyer)) for b in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert outcomes["sold"] == CODES
    assert outcomes["sold_out"] == per_buyer * BUYERS - CODES
    sold = CardCode.objects.filter(status="sold")
    assert sold.count() == CODES
    assert sold.values("order_ref").distinct().count() == CODES
    assert Order.objects.filter(status="delivered").count() == CODES
    # Nobody left paid without codes, nobody charged for a sold-out attempt.
    assert not Order.objects.filter(status="paid").exists()
    assert LedgerEntry.objects.filter(kind="purchase").count() == CODES
    for wallet in Wallet.objects.all():
        ledger = wallet.entries.aggregate(total=Sum("amount"))["total"]
        assert wallet.balance == ledger
    sku.refresh_from_db()
    assert sku.stock == 0
