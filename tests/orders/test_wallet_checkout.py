"""Buying a card or a manual item with wallet balance, end to end through the
services: one transaction charges, marks paid and hands over the codes."""

from decimal import Decimal

import pytest

from catalog.models import CardCode, Sku, StockAlert
from kameng import events
from orders.checkout import (
    buy_with_wallet,
    cancel_order,
    pay_with_wallet,
    place_order,
)
from orders.exceptions import CheckoutRefused, IllegalTransition, SoldOut
from orders.models import Order
from orders.selectors import delivered_codes, find_guest_order
from orders.transitions import open_abnormal_ticket
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer, stock_codes
from users.exceptions import InsufficientBalance
from users.models import LedgerEntry

pytestmark = pytest.mark.django_db


def test_a_card_bought_with_balance_is_delivered_at_once(
    django_capture_on_commit_callbacks,
):
    sku = make_sku(price=Decimal("9.80"))
    texts = stock_codes(sku, 3)
    buyer = make_buyer(Decimal("50.00"))
    paid, delivered = [], []
    events.order_paid.connect(lambda **kw: paid.append(kw["order_id"]), weak=False)
    events.order_delivered.connect(
        lambda **kw: delivered.append(kw["order_id"]), weak=False
    )

    order = place_order(sku=sku, quantity=2, buyer=buyer)
    assert order.status == Order.Status.PENDING_PAYMENT
    assert order.amount == Decimal("19.60")
    assert order.price_breakdown["unit_price"] == "9.80"
    assert len(order.order_no) == 14 and order.order_no.isdigit()

    with django_capture_on_commit_callbacks(execute=True):
        order = pay_with_wallet(order=order, actor=buyer)

    assert order.status == Order.Status.DELIVERED
    assert delivered_codes(order=order) == texts[:2]
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("30.40")
    entry = LedgerEntry.objects.get(reference=order.order_no)
    assert (entry.amount, entry.kind) == (Decimal("-19.60"), "purchase")
    assert [(e.from_status, e.to_status) for e in order.events.all()] == [
        ("pending_payment", "paid"),
        ("paid", "delivered"),
    ]
    sku.refresh_from_db()
    assert sku.stock == 1
    assert paid == delivered == [order.pk]


def test_paying_twice_charges_once():
    sku = make_sku(price=Decimal("5.00"))
    stock_codes(sku, 2)
    buyer = make_buyer(Decimal("20.00"))
    order = place_order(sku=sku, quantity=1, buyer=buyer)
    pay_with_wallet(order=order, actor=buyer)
    pay_with_wallet(order=order, actor=buyer)
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("15.00")
    assert CardCode.objects.filter(status="sold").count() == 1


def test_short_balance_charges_nothing_and_takes_no_code():
    sku = make_sku(price=Decimal("30.00"))
    stock_codes(sku, 1)
    buyer = make_buyer(Decimal("10.00"))
    order = place_order(sku=sku, quantity=1, buyer=buyer)
    with pytest.raises(InsufficientBalance):
        pay_with_wallet(order=order, actor=buyer)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT
    assert CardCode.objects.get().status == "available"
    assert LedgerEntry.objects.filter(kind="purchase").count() == 0


def test_sold_out_charges_nothing_and_says_so():
    sku = make_sku(price=Decimal("5.00"))
    stock_codes(sku, 1)
    buyer = make_buyer(Decimal("20.00"))
    order = place_order(sku=sku, quantity=2, buyer=buyer)
    with pytest.raises(SoldOut, match="仅剩 1 件"):
        pay_with_wallet(order=order, actor=buyer)
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("20.00")
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT
    assert order.events.count() == 0


def test_buying_with_balance_places_and_pays_in_one_go():
    sku = make_sku(price=Decimal("4.50"))
    texts = stock_codes(sku, 2)
    buyer = make_buyer(Decimal("10.00"))
    order = buy_with_wallet(sku=sku, quantity=2, buyer=buyer)
    assert order.status == Order.Status.DELIVERED
    assert delivered_codes(order=order) == texts
    assert [(e.from_status, e.to_status) for e in order.events.order_by("id")] == [
        ("pending_payment", "paid"),
        ("paid", "delivered"),
    ]
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("1.00")


def test_a_failing_receiver_never_undoes_or_errors_a_committed_sale(
    django_capture_on_commit_callbacks, caplog
):
    """What other apps do on order_paid runs after commit: if it fails, it is
    logged, and the buyer still gets the codes they paid for."""

    def broken_receiver(sender, **kwargs):
        raise RuntimeError("receiver down")

    sku = make_sku(price=Decimal("4.50"))
    stock_codes(sku, 1)
    buyer = make_buyer(Decimal("10.00"))
    events.order_paid.connect(broken_receiver, dispatch_uid="test.broken")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            order = buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    finally:
        events.order_paid.disconnect(dispatch_uid="test.broken")
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert "receiver down" in caplog.text


@pytest.mark.parametrize(
    ("balance", "stocked", "refusal", "says"),
    [
        (Decimal("20.00"), 1, SoldOut, "仅剩 1 件"),
        (Decimal("5.00"), 2, InsufficientBalance, "余额不足"),
    ],
)
def test_a_refused_purchase_leaves_no_order_and_no_charge(
    balance, stocked, refusal, says
):
    sku = make_sku(price=Decimal("5.00"))
    stock_codes(sku, stocked)
    buyer = make_buyer(balance)
    with pytest.raises(refusal, match=says):
        buy_with_wallet(sku=sku, quantity=2, buyer=buyer)
    assert not Order.objects.exists()
    assert CardCode.objects.filter(status="available").count() == stocked
    sku.refresh_from_db()
    assert sku.stock == stocked
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == balance
    assert not LedgerEntry.objects.filter(kind="purchase").exists()


def test_guests_cannot_buy_with_balance():
    with pytest.raises(CheckoutRefused, match="登录"):
        buy_with_wallet(sku=make_sku(), quantity=1, buyer=None)
    assert not Order.objects.exists()


def test_checkout_refuses_what_is_not_for_sale():
    buyer = make_buyer()
    paused = make_sku(is_active=False)
    with pytest.raises(CheckoutRefused, match="未在售"):
        place_order(sku=paused, quantity=1, buyer=buyer)
    limited = make_sku(min_quantity=1, max_quantity=5)
    with pytest.raises(CheckoutRefused):
        place_order(sku=limited, quantity=6, buyer=buyer)
    with pytest.raises(CheckoutRefused, match="邮箱或手机号"):
        place_order(sku=limited, quantity=1)
    assert not Order.objects.exists()


def test_a_top_up_needs_a_valid_account():
    sku = make_sku(
        delivery_type=Sku.DeliveryType.TOPUP,
        recharge_fields=[{"key": "phone", "label": "手机号", "rule": "phone"}],
    )
    with pytest.raises(CheckoutRefused) as error:
        place_order(
            sku=sku, quantity=1, buyer=make_buyer(), recharge_account={"phone": "123"}
        )
    assert "phone" in error.value.extra["fields"]
    order = place_order(
        sku=sku,
        quantity=1,
        buyer=make_buyer(),
        recharge_account={"phone": " 13800138000 ", "extra": "dropped"},
    )
    assert order.recharge_account == {"phone": "13800138000"}


def test_illegal_transitions_are_refused():
    sku = make_sku()
    order = place_order(sku=sku, quantity=1, buyer=make_buyer())
    cancel_order(order=order, reason="timeout")
    with pytest.raises(IllegalTransition):
        pay_with_wallet(order=order)


def test_a_guest_finds_the_order_only_with_number_contact_and_password():
    sku = make_sku()
    order = place_order(
        sku=sku, quantity=1, contact="guest@example.com", lookup_password="8642"
    )
    assert (
        find_guest_order(
            order_no=order.order_no, contact="guest@example.com", password="8642"
        )
        == order
    )
    for number, contact, password in (
        (order.order_no, "guest@example.com", "0000"),
        (order.order_no, "other@example.com", "8642"),
        ("26112500000000", "guest@example.com", "8642"),
    ):
        assert (
            find_guest_order(order_no=number, contact=contact, password=password)
            is None
        )


def test_an_abnormal_order_opens_one_ticket():
    order = place_order(sku=make_sku(), quantity=1, buyer=make_buyer())
    first = open_abnormal_ticket(order=order, flag="supplier_failure", message="A")
    second = open_abnormal_ticket(order=order, flag="supplier_failure", message="B")
    assert first == second
    assert [m.body for m in first.messages.all()] == ["A", "B"]
    order.refresh_from_db()
    assert order.flag == "supplier_failure"


def test_a_sale_down_to_the_threshold_raises_the_stock_alert_at_once(
    django_capture_on_commit_callbacks,
):
    sku = make_sku(price=Decimal("1.00"), low_stock_threshold=2)
    stock_codes(sku, 3)
    buyer = make_buyer(Decimal("10.00"))
    with django_capture_on_commit_callbacks(execute=True):
        pay_with_wallet(order=place_order(sku=sku, quantity=1, buyer=buyer))
    assert StockAlert.objects.filter(sku=sku, status="open", kind="low").exists()
    with django_capture_on_commit_callbacks(execute=True):
        pay_with_wallet(order=place_order(sku=sku, quantity=2, buyer=buyer))
    sku.refresh_from_db()
    assert StockAlert.objects.filter(sku=sku, status="open", kind="out").exists()
    assert sku.auto_paused and not sku.is_active


def test_manual_orders_wait_in_the_queue_until_staff_deliver(client, role_user):
    sku = make_sku(
        delivery_type=Sku.DeliveryType.MANUAL,
        stock_mode=Sku.StockMode.COUNTER,
        stock=5,
        price=Decimal("58.00"),
    )
    buyer = make_buyer(Decimal("100.00"))
    order = pay_with_wallet(order=place_order(sku=sku, quantity=1, buyer=buyer))
    assert order.status == Order.Status.PAID

    client.force_login(role_user("support"))
    assert client.get("/admin/orders/manual-queue/").status_code == 403
    client.force_login(role_user("operations"))
    page = client.get("/admin/orders/manual-queue/")
    assert f"/admin/orders/deliver/{order.pk}/" in page.content.decode()

    url = f"/admin/orders/deliver/{order.pk}/"
    assert client.post(url, {"note": ""}).status_code == 200  # a note is required
    response = client.post(url, {"note": "账号：vip123 密码：abc456"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert order.delivery == {"note": "账号：vip123 密码：abc456"}
    assert url not in client.get("/admin/orders/manual-queue/").content.decode()
