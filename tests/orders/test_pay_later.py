"""An order left unpaid (gateway page closed, balance short) can be paid from its
order page: with the balance by its own buyer, or by going to the gateway again."""

from decimal import Decimal

import pytest

from orders.checkout import place_order
from orders.models import Order
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer, stock_codes

pytestmark = pytest.mark.django_db


@pytest.fixture
def sku():
    sku = make_sku(price=Decimal("9.80"))
    stock_codes(sku, 2)
    return sku


def pending(sku, buyer=None) -> Order:
    if buyer is None:
        return place_order(sku=sku, quantity=1, contact="13800138000")
    return place_order(sku=sku, quantity=1, buyer=buyer)


def pay(client, order: Order, payment: str, **kwargs):
    return client.post(
        f"/shop/orders/{order.order_no}/pay/", {"payment": payment}, **kwargs
    )


def still_unpaid(order: Order) -> bool:
    order.refresh_from_db()
    return order.status == Order.Status.PENDING_PAYMENT


def test_the_buyer_pays_an_unpaid_order_with_balance(client, sku):
    buyer = make_buyer(Decimal("20.00"))
    order = pending(sku, buyer)
    client.force_login(buyer)
    page = client.get(f"/shop/orders/{order.order_no}/").content.decode()
    assert 'data-testid="pay-order"' in page
    assert 'value="wallet"' in page and 'value="sandbox"' in page

    response = pay(client, order, "wallet", follow=True)
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert response.content.decode().count("<li><code>") == 1
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("10.20")


def test_a_short_balance_is_said_on_the_order_and_changes_nothing(client, sku):
    buyer = make_buyer(Decimal("1.00"))
    order = pending(sku, buyer)
    client.force_login(buyer)
    response = pay(client, order, "wallet", follow=True)
    assert "余额不足" in response.content.decode()
    assert still_unpaid(order)


def test_the_gateway_can_be_tried_again(client, sku):
    buyer = make_buyer(Decimal("0.00"))
    order = pending(sku, buyer)
    client.force_login(buyer)
    response = pay(client, order, "sandbox")
    assert response.status_code == 302
    assert response["Location"] == f"/pay/sandbox/{order.order_no}/"


def test_a_guest_is_offered_the_gateway_but_never_a_balance(client, sku):
    order = pending(sku)
    session = client.session
    session["shop_guest_orders"] = [order.pk]
    session.save()
    page = client.get(f"/shop/orders/{order.order_no}/").content.decode()
    assert 'value="sandbox"' in page and 'value="wallet"' not in page
    response = pay(client, order, "wallet", follow=True)
    assert "当前无法支付" in response.content.decode()
    assert still_unpaid(order)


def test_someone_elses_order_cannot_be_paid_or_seen(client, sku):
    order = pending(sku, make_buyer(Decimal("20.00")))
    client.force_login(make_buyer(Decimal("20.00")))
    assert pay(client, order, "wallet").status_code == 404
    assert still_unpaid(order)


def test_a_paid_order_offers_no_payment_and_refuses_one(client, sku):
    buyer = make_buyer(Decimal("30.00"))
    order = pending(sku, buyer)
    client.force_login(buyer)
    pay(client, order, "wallet")
    page = client.get(f"/shop/orders/{order.order_no}/").content.decode()
    assert 'data-testid="pay-order"' not in page
    response = pay(client, order, "wallet", follow=True)
    assert "当前无法支付" in response.content.decode()
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("20.20")  # charged once
    assert client.get(f"/shop/orders/{order.order_no}/pay/").status_code == 405
