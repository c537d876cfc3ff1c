"""One coupon, two checkouts at the same moment (Postgres, real threads):
exactly one order uses it; the other is refused with a clear message and
nothing is charged for it."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from marketing.models import Coupon
from orders.checkout import buy_with_wallet
from orders.exceptions import CheckoutRefused
from orders.models import Order
from tests.catalog.factories import make_sku
from tests.marketing.coupon_factories import give, make_template
from tests.orders.factories import make_buyer, stock_codes
from users.models import Wallet

D = Decimal
ROUNDS = 5


def race(*, sku, buyer, coupon_id) -> tuple[list, list]:
    """Two threads press "buy" with the same coupon at the same moment."""
    start = threading.Barrier(2)
    outcomes, errors = [], []

    def checkout():
        try:
            start.wait()
            order = buy_with_wallet(
                sku=sku, quantity=1, buyer=buyer, options={"coupon_id": coupon_id}
            )
            outcomes.append(("paid", order.pk))
        except CheckoutRefused as exc:
            outcomes.append(("refused", exc.message))
        except Exception as exc:  # noqa: BLE001 - any other error fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_checkouts_with_one_coupon_make_one_order():
    sku = make_sku(price=D("30.00"), max_quantity=10)
    stock_codes(sku, 2 * ROUNDS)
    buyer = make_buyer(D("1000.00"))
    for _round in range(ROUNDS):
        coupon = give(make_template(kind="no_threshold", amount=D("5.00")), buyer)
        outcomes, errors = race(sku=sku, buyer=buyer, coupon_id=coupon.pk)

        assert errors == []
        assert sorted(kind for kind, _detail in outcomes) == ["paid", "refused"]
        refused = next(detail for kind, detail in outcomes if kind == "refused")
        # the loser learns why, in words: used meanwhile, or already used
        assert "已使用" in refused or "刚刚已在另一笔订单中使用" in refused
        coupon.refresh_from_db()
        paid = next(detail for kind, detail in outcomes if kind == "paid")
        assert coupon.status == Coupon.Status.USED
        assert coupon.order_id == paid

    assert Order.objects.filter(buyer=buyer).count() == ROUNDS
    # only the paid orders were charged: 25.00 each
    assert Wallet.objects.get(user=buyer).balance == D("1000.00") - ROUNDS * D("25.00")
