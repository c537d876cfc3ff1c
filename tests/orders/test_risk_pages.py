"""Risk as people meet it: the shop refuses a blacklisted buyer with a clear
message, staff see the risk flag on the buyer list and decide on held orders
from their page, and a held order's buyer gets nothing until it is released."""

import uuid
from decimal import Decimal

import pytest

from orders.checkout import place_order
from orders.exceptions import CheckoutRefused
from orders.models import BlacklistEntry, Order, Ticket
from orders.refunds import request_refund
from orders.risk import add_to_blacklist, flag_for
from tests.catalog.factories import make_sku
from tests.orders.aftersales_helpers import delivered_card_order
from tests.orders.factories import make_buyer, stock_codes

pytestmark = pytest.mark.django_db
S = Order.Status


@pytest.fixture(autouse=True)
def limits(settings):
    settings.RISK_AFTER_SALES_LIMIT = 1
    settings.RISK_HOLD_FLAGGED_ORDERS = True
    settings.REFUND_APPROVAL_THRESHOLD = Decimal("1000.00")


@pytest.fixture
def flagged(role_user):
    finance = role_user("finance", "finance-risk-pages")
    buyer = make_buyer(Decimal("0.00"), password="x-test-password")
    for _ in range(2):
        request_refund(
            order=delivered_card_order(buyer=buyer),
            amount=Decimal("10.00"),
            reason="卡密无效",
            actor=finance,
            key=uuid.uuid4(),
        )
    assert flag_for(buyer) is not None
    return buyer


def test_the_shop_tells_a_blacklisted_buyer_why_nothing_was_charged(client, role_user):
    buyer = make_buyer(Decimal("50.00"), password="x-test-password")
    add_to_blacklist(
        kind=BlacklistEntry.Kind.ACCOUNT,
        value=buyer.username,
        reason="盗刷",
        actor=role_user("operations"),
    )
    sku = make_sku(price=Decimal("10.00"), max_quantity=5)
    stock_codes(sku, 2)
    client.login(username=buyer.username, password="x-test-password")
    response = client.post(
        f"/shop/p/{sku.product_id}/?sku={sku.pk}",
        {"quantity": "1", "payment": "wallet"},
    )
    page = response.content.decode()
    assert "此账号不能下单，请联系客服。" in page
    assert "盗刷" not in page
    assert not Order.objects.filter(buyer=buyer).exists()


def test_the_buyer_list_shows_the_flag(client, flagged, role_user):
    client.force_login(role_user("support"))
    page = client.get("/admin/users/buyer/").content.decode()
    assert 'data-testid="risk-flag"' in page and "风险买家" in page


def test_a_held_order_is_released_from_its_page_and_delivered(
    client, flagged, role_user
):
    order = delivered_card_order(buyer=flagged)
    assert order.status == S.HELD
    client.force_login(role_user("operations", "ops-pages"))
    queue = client.get("/admin/orders/held/").content.decode()
    assert order.order_no in queue and "风险买家" in queue

    buyer_client = type(client)()
    buyer_client.login(username=flagged.username, password="x-test-password")
    shop = buyer_client.get(f"/shop/orders/{order.order_no}/").content.decode()
    assert "待风控审核" in shop and "CODE-" not in shop  # no codes shown

    missing = client.post(
        f"/admin/orders/held/{order.pk}/", {"decision": "release", "reason": ""}
    )
    assert missing.status_code == 200
    order.refresh_from_db()
    assert order.status == S.HELD

    done = client.post(
        f"/admin/orders/held/{order.pk}/",
        {"decision": "release", "reason": "电话核实为本人"},
    )
    assert done.status_code == 302
    order.refresh_from_db()
    assert order.status == S.DELIVERED and order.delivery["code_ids"]
    assert order.events.filter(reason__contains="电话核实为本人").exists()


def test_support_may_not_decide_on_held_orders(client, flagged, role_user):
    order = delivered_card_order(buyer=flagged)
    client.force_login(role_user("support"))
    response = client.post(
        f"/admin/orders/held/{order.pk}/", {"decision": "release", "reason": "ok"}
    )
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == S.HELD


def test_the_blacklist_admin_stores_values_as_checkout_compares_them(client, role_user):
    client.force_login(role_user("operations"))
    response = client.post(
        "/admin/orders/blacklistentry/add/",
        {
            "kind": "contact",
            "value": "  Bad@Example.COM ",
            "reason": "拒付",
            "active": "on",
        },
    )
    assert response.status_code == 302
    entry = BlacklistEntry.objects.get()
    assert entry.value == "bad@example.com" and entry.created_by.username
    sku = make_sku(price=Decimal("10.00"), max_quantity=5)
    with pytest.raises(CheckoutRefused, match="此邮箱或手机号"):
        place_order(sku=sku, quantity=1, contact="BAD@example.com")


def test_the_profile_and_the_ticket_page_show_the_flag(client, flagged, role_user):
    ticket = Ticket.objects.create(
        kind=Ticket.Kind.COMPLAINT, buyer=flagged, subject="又坏了"
    )
    client.force_login(role_user("support"))
    profile = client.get(f"/admin/users/buyer/{flagged.pk}/profile/").content.decode()
    assert "风险买家" in profile
    assert f"/admin/users/buyer/{flagged.pk}/wallet/" in profile
    page = client.get(f"/admin/orders/ticket-reply/{ticket.pk}/").content.decode()
    assert 'data-testid="risk-flag"' in page
