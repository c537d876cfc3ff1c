"""A price edited while buyers buy (Postgres, real threads): no sale committed
after the edit is at the old price, though every process keeps the catalog in
its sale cache (issue 12)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import Sku
from catalog.services.pricing import save_sku_prices
from orders.checkout import buy_with_wallet
from orders.models import Order
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer, stock_codes

BUYERS = 16
SALES_EACH_SIDE = 40  # sales wanted before the edit, and again after it


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_no_sale_after_a_price_edit_uses_the_old_price():
    sku = make_sku(price=Decimal("1.00"))
    stock_codes(sku, 400)
    buyers = [make_buyer(Decimal("500.00")) for _ in range(BUYERS)]
    sku.refresh_from_db()
    sold = [0]
    progress = threading.Condition()
    stop = threading.Event()
    errors = []

    def shop(buyer):
        try:
            while not stop.is_set():
                buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
                with progress:
                    sold[0] += 1
                    progress.notify_all()
        except Exception as exc:  # noqa: BLE001 - any error fails the test
            errors.append(repr(exc))
            with progress:
                progress.notify_all()
        finally:
            connection.close()

    def wait_for(count):
        with progress:
            assert progress.wait_for(lambda: sold[0] >= count or errors, timeout=120)

    threads = [threading.Thread(target=shop, args=(b,)) for b in buyers]
    for thread in threads:
        thread.start()
    try:
        wait_for(SALES_EACH_SIDE)
        edited = Sku.objects.get(pk=sku.pk)
        edited.price = Decimal("2.00")
        save_sku_prices(sku=edited, actor=None)  # commits before it returns
        committed_before_edit_returned = set(Order.objects.values_list("id", flat=True))
        with progress:
            target = sold[0] + SALES_EACH_SIDE
        wait_for(target)
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    assert errors == []
    before = Order.objects.filter(id__in=committed_before_edit_returned)
    after = Order.objects.exclude(id__in=committed_before_edit_returned)
    assert before.filter(unit_price=Decimal("1.00")).exists()
    assert after.count() >= SALES_EACH_SIDE
    assert set(after.values_list("unit_price", flat=True)) == {Decimal("2.00")}
    assert {o.price_breakdown["unit_price"] for o in after} == {"2.00"}
