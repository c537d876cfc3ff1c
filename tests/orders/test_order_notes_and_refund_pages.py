"""Back-office after-sales pages: notes on an order (internal or shown to the
buyer), the refund page that asks, confirms and pays once, and approvals."""

import re
from decimal import Decimal

import pytest

from orders.aftersales import add_order_note
from orders.exceptions import NoteRefused
from orders.models import Order, OrderNote, RefundRequest
from tests.orders.aftersales_helpers import delivered_card_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    return delivered_card_order()


def shop_page(client, order) -> str:
    client.force_login(order.buyer)
    return client.get(f"/shop/orders/{order.order_no}/").content.decode()


@pytest.mark.parametrize("role", ["support", "operations", "finance", "superadmin"])
def test_staff_add_notes_from_the_order_page(client, role_user, order, role):
    client.force_login(role_user(role))
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert f"/admin/orders/note/{order.pk}/" in page
    response = client.post(
        f"/admin/orders/note/{order.pk}/",
        {"body": "买家来电，已核实", "visible_to_buyer": ""},
    )
    assert response.status_code == 302
    note = OrderNote.objects.get()
    assert (note.body, note.visible_to_buyer, note.author.username) == (
        "买家来电，已核实",
        False,
        f"{role}-staff",
    )
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "买家来电，已核实" in page and "内部" in page


def test_marketing_cannot_add_notes(client, role_user, order):
    client.force_login(role_user("marketing"))
    response = client.post(f"/admin/orders/note/{order.pk}/", {"body": "x"})
    assert response.status_code == 403
    assert not OrderNote.objects.exists()


def test_internal_notes_never_reach_the_shop(client, role_user, order):
    staff = role_user("support")
    add_order_note(
        order=order, author=staff, body="疑似盗刷，勿退", visible_to_buyer=False
    )
    add_order_note(
        order=order, author=staff, body="已为您补发卡密", visible_to_buyer=True
    )
    page = shop_page(client, order)
    assert "已为您补发卡密" in page
    assert "疑似盗刷" not in page


def test_an_empty_note_is_refused(role_user, order):
    with pytest.raises(NoteRefused):
        add_order_note(
            order=order, author=role_user("support"), body="  ", visible_to_buyer=True
        )


def refund_key(page: str) -> str:
    return re.search(r'name="key" value="([0-9a-f-]{36})"', page).group(1)


def test_refund_page_asks_confirms_and_pays_once(client, role_user, order):
    client.force_login(role_user("finance"))
    url = f"/admin/orders/refund/{order.pk}/"
    form = client.get(url).content.decode()
    assert "退款金额" in form and "卡密" in form
    data = {
        "key": refund_key(form),
        "amount": "30.00",
        "reason": "卡密无法使用",
        "void_codes": "on",
    }
    preview = client.post(url, data).content.decode()
    assert "请确认" in preview
    assert "¥30.00 退回买家钱包余额" in preview
    assert "部分退款" in preview
    assert "已发的 2 张卡密将作废" in preview
    assert not RefundRequest.objects.exists()  # nothing happens before confirming

    first = client.post(url, {**data, "confirm": "1"})
    second = client.post(url, {**data, "confirm": "1"})  # the double click
    assert first.status_code == second.status_code == 302
    refund = RefundRequest.objects.get()
    assert refund.status == RefundRequest.Status.REFUNDED
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("30.00")
    assert order.status == Order.Status.PARTIALLY_REFUNDED

    page = shop_page(client, order)
    assert "卡密无法使用" in page
    assert "已退款 ¥30.00 至您的钱包" in page


def test_refund_page_refuses_more_than_is_left(client, role_user, order):
    client.force_login(role_user("finance"))
    url = f"/admin/orders/refund/{order.pk}/"
    key = refund_key(client.get(url).content.decode())
    page = client.post(
        url, {"key": key, "amount": "100.01", "reason": "x", "confirm": "1"}
    ).content.decode()
    assert "至多" in page or "最多" in page
    assert not RefundRequest.objects.exists()


@pytest.mark.parametrize("role", ["support", "operations", "marketing"])
def test_only_finance_reaches_the_refund_page(client, role_user, order, role):
    client.force_login(role_user(role))
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert f"/admin/orders/refund/{order.pk}/" not in page
    response = client.post(
        f"/admin/orders/refund/{order.pk}/",
        {
            "key": "5b0e2f0c-8a0b-4c43-9d0f-0d5c2b7e6a11",
            "amount": "10.00",
            "reason": "x",
            "confirm": "1",
        },
    )
    assert response.status_code == 403
    assert not RefundRequest.objects.exists()


def test_large_refund_is_approved_by_a_second_person(
    client, role_user, order, settings
):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal("50.00")
    asker = role_user("finance", "finance-a")
    approver = role_user("finance", "finance-b")
    client.force_login(asker)
    url = f"/admin/orders/refund/{order.pk}/"
    key = refund_key(client.get(url).content.decode())
    data = {"key": key, "amount": "100.00", "reason": "整单无效"}
    assert "另一位同事批准前不会退款" in client.post(url, data).content.decode()
    client.post(url, {**data, "confirm": "1"})
    refund = RefundRequest.objects.get()
    assert refund.status == RefundRequest.Status.PENDING
    order.buyer.wallet.refresh_from_db()
    assert order.buyer.wallet.balance == Decimal("0.00")
    shop = shop_page(client, order)
    assert "¥100.00 的退款正在审批中" in shop

    client.force_login(asker)
    decide = f"/admin/orders/refund-decide/{refund.pk}/"
    assert "须由其他人审批" in client.get(decide).content.decode()
    client.post(decide, {"decision": "approve"})
    refund.refresh_from_db()
    assert refund.status == RefundRequest.Status.PENDING

    client.force_login(approver)
    assert client.post(decide, {"decision": "approve"}).status_code == 302
    refund.refresh_from_db()
    assert refund.status == RefundRequest.Status.REFUNDED
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert "整单无效" in shop_page(client, order)


def test_support_cannot_approve_refunds(client, role_user, order):
    refund = RefundRequest.objects.create(
        order=order,
        amount=Decimal("80.00"),
        reason="x",
        requested_by=role_user("finance"),
    )
    client.force_login(role_user("support"))
    response = client.post(
        f"/admin/orders/refund-decide/{refund.pk}/", {"decision": "approve"}
    )
    assert response.status_code == 403
    refund.refresh_from_db()
    assert refund.status == RefundRequest.Status.PENDING


def test_finance_finds_pending_refunds_to_decide_in_the_refund_list(
    client, role_user, order
):
    refund = RefundRequest.objects.create(
        order=order,
        amount=Decimal("80.00"),
        reason="整单无效",
        requested_by=role_user("finance", "finance-a"),
    )
    client.force_login(role_user("finance", "finance-b"))
    listing = client.get("/admin/orders/refundrequest/?status=pending").content.decode()
    assert f"/admin/orders/refund-decide/{refund.pk}/" in listing
    assert "批准或驳回" in listing
    client.force_login(role_user("support"))
    listing = client.get("/admin/orders/refundrequest/").content.decode()
    assert "整单无效" in listing
    assert f"/admin/orders/refund-decide/{refund.pk}/" not in listing
