"""Test data for the support slice: orders of each delivery type reached through
the real checkout, fulfilment and ticket services."""

from decimal import Decimal

from catalog.models import Sku
from orders.aftersales import open_buyer_ticket
from orders.checkout import buy_with_wallet, pay_with_wallet, place_order
from orders.fulfilment import advance_fulfilment, deliver_manually, resolve_stuck_topup
from orders.models import Order, Ticket
from tests.catalog.factories import make_sku
from tests.catalog.suppliers_factories import make_topup_sku
from tests.orders.factories import make_buyer

PASSWORD = "x-test-password"
ACCOUNT = {"phone": "13800138000"}
FIELDS = [{"key": "phone", "label": "手机号", "rule": "phone"}]


def paid_topup_order(price: Decimal = Decimal("49.60")) -> Order:
    """A buyer paid for a phone top-up; its fulfilment waits (outside a
    transactional test the after-commit step does not run)."""
    sku = make_topup_sku(price=price, recharge_fields=FIELDS)
    buyer = make_buyer(price, password=PASSWORD)
    order = place_order(sku=sku, quantity=1, buyer=buyer, recharge_account=ACCOUNT)
    pay_with_wallet(order=order, actor=buyer)
    order.refresh_from_db()
    return order


def delivered_topup_order(actor, price: Decimal = Decimal("49.60")) -> Order:
    """The supplier confirmed the top-up (the buyer may still say it never
    arrived)."""
    order = paid_topup_order(price)
    resolve_stuck_topup(
        order=order, actor=actor, credited=True, reason="供货商确认已充值"
    )
    order.refresh_from_db()
    return order


def failed_topup_order() -> Order:
    """No supplier could top up: the order failed and the wallet was refunded."""
    order = paid_topup_order()
    advance_fulfilment(order_id=order.pk)  # no offer: fails and refunds
    order.refresh_from_db()
    return order


def delivered_manual_order(actor, price: Decimal = Decimal("30.00")) -> Order:
    sku = make_sku(
        price=price,
        delivery_type=Sku.DeliveryType.MANUAL,
        stock_mode=Sku.StockMode.UNLIMITED,
    )
    buyer = make_buyer(price, password=PASSWORD)
    order = buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    deliver_manually(order=order, actor=actor, note="账号：demo 密码：见站内信")
    order.refresh_from_db()
    return order


def buyer_ticket(order: Order, kind=Ticket.Kind.REFUND, body="卡密无效") -> Ticket:
    return open_buyer_ticket(order=order, buyer=order.buyer, kind=kind, body=body)
