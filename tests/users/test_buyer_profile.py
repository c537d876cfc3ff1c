"""The customer profile: who may open it, what it shows (no cost), and that it
reads the same number of queries whatever the buyer's history."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kameng import events
from orders.aftersales import open_buyer_ticket
from orders.checkout import buy_with_wallet
from orders.models import Order
from orders.refunds import refund_to_wallet
from tests.catalog.factories import make_product, make_sku
from tests.orders.factories import make_buyer, stock_codes
from users.models import LoginEvent, MemberLevel, ProductView, User
from users.tracking import toggle_favourite

pytestmark = pytest.mark.django_db


def url(user) -> str:
    return f"/admin/users/buyer/{user.pk}/profile/"


@pytest.fixture
def levels():
    for code, name, rank, threshold in [
        ("bronze", "青铜", 0, "0.00"),
        ("silver", "白银", 10, "30.00"),
        ("gold", "黄金", 20, "100000.00"),
    ]:
        MemberLevel.objects.create(
            code=code, name=name, rank=rank, growth_threshold=Decimal(threshold)
        )


def buyer_with_history(orders: int, *, capture) -> User:
    """A buyer with `orders` paid orders, as many views, logins and favourites."""
    sku = make_sku(
        product=make_product(name="Q币直充卡"),
        price=Decimal("9.80"),
        cost_price=Decimal("7.77"),
    )
    stock_codes(sku, orders)
    buyer = make_buyer(Decimal("9.80") * orders + Decimal("5.00"))
    for _ in range(orders):
        with capture(execute=True):
            buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
        ProductView.objects.create(user=buyer, product_id=sku.product_id)
        LoginEvent.objects.create(
            user=buyer, success=True, area="shop", ip="203.0.113.9"
        )
        toggle_favourite(user=buyer, product_id=make_product().pk)
    return buyer


def test_support_sees_the_whole_profile_without_cost(
    client, role_user, levels, django_capture_on_commit_callbacks
):
    buyer = buyer_with_history(4, capture=django_capture_on_commit_callbacks)
    order = Order.objects.filter(buyer=buyer).first()
    ticket = open_buyer_ticket(
        order=order, buyer=buyer, kind="inquiry", body="卡密显示已使用"
    )
    with django_capture_on_commit_callbacks(execute=True):
        refund_to_wallet(order=order, amount=Decimal("1.00"), reason="少发一张")
    client.force_login(role_user("support"))
    response = client.get(url(buyer))
    page = response.content.decode()
    assert response.status_code == 200
    assert "白银" in page  # 4 × 9.80 = 39.20 ≥ 30 when paid
    assert "38.20" in page  # growth value: 4 × 9.80 less the 1.00 refunded
    assert "黄金" in page and "99961.80" in page  # next level and what is missing
    assert page.count("Q币直充卡") >= 4 + 1  # orders and browse trail
    assert Order.objects.filter(buyer=buyer).first().order_no in page
    assert "203.0.*.*" in page and "203.0.113.9" not in page
    assert "余额" in page  # support may see wallets
    assert "7.77" not in page  # the cost price
    assert "付款带来成长值" in page  # the level change and its reason
    assert f"/admin/orders/ticket/{ticket.pk}/change/" in page  # the ticket
    assert "少发一张" in page  # the refund and its reason


def test_marketing_sees_the_profile_but_no_wallet(
    client, role_user, levels, django_capture_on_commit_callbacks
):
    buyer = buyer_with_history(1, capture=django_capture_on_commit_callbacks)
    client.force_login(role_user("marketing"))
    response = client.get(url(buyer))
    assert response.status_code == 200
    assert b'data-testid="wallet-balance"' not in response.content
    assert b'data-testid="profile-ledger"' not in response.content
    assert b'data-testid="profile-tickets"' not in response.content


def test_the_profile_is_for_staff_with_the_buyer_permission(client, role_user):
    buyer = make_buyer()
    assert client.get(url(buyer)).status_code == 302  # to the login
    client.force_login(buyer)
    assert client.get(url(buyer)).status_code == 302  # buyers are no staff
    nobody = User.objects.create_user("nobody", is_staff=True)
    client.force_login(nobody)
    assert client.get(url(buyer)).status_code == 403


def test_a_staff_account_or_an_unknown_id_has_no_profile(client, role_user):
    support = role_user("support")
    client.force_login(support)
    assert client.get(url(support)).status_code == 404
    assert client.get("/admin/users/buyer/99999999/profile/").status_code == 404


def test_a_buyer_with_no_history_has_a_profile(client, role_user):
    buyer = make_buyer()
    client.force_login(role_user("support"))
    page = client.get(url(buyer)).content.decode()
    assert "暂无等级" in page and "暂无收藏" in page


def test_the_profile_reads_the_same_queries_for_a_long_history(
    client,
    role_user,
    levels,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    short = buyer_with_history(1, capture=django_capture_on_commit_callbacks)
    long = buyer_with_history(30, capture=django_capture_on_commit_callbacks)
    client.force_login(role_user("support"))
    client.get(url(short))  # warm the session and permission caches alike
    with CaptureQueriesContext(connection) as few:
        assert client.get(url(short)).status_code == 200
    with django_assert_max_num_queries(len(few)):
        assert client.get(url(long)).status_code == 200
    # incl. segments, RFM scores, the risk flag and the back office's banner
    # of waiting work (kameng.health)
    assert len(few) <= 24


def test_active_hours_are_drawn_as_bars(client, role_user):
    buyer = make_buyer()
    at = timezone.localtime().replace(hour=20, minute=5)
    for minutes in range(3):
        ProductView.objects.create(
            user=buyer, product_id=1, created_at=at + timedelta(minutes=minutes)
        )
    client.force_login(role_user("support"))
    page = client.get(url(buyer)).content.decode()
    assert "<title>20:00 · 3</title>" in page
    assert "<title>9:00 · 0</title>" in page


def test_support_reaches_the_profile_from_an_order(
    client, role_user, django_capture_on_commit_callbacks
):
    buyer = buyer_with_history(1, capture=django_capture_on_commit_callbacks)
    order = Order.objects.get(buyer=buyer)
    client.force_login(role_user("support"))
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert f'href="{url(buyer)}"' in page


def test_the_signal_keeps_the_preferred_payment_method(client, role_user):
    buyer = make_buyer()
    for method in ("gateway", "gateway", "wallet"):
        events.order_paid.send(
            sender=Order,
            order_id=0,
            buyer_id=buyer.pk,
            amount=Decimal("1.00"),
            payment_method=method,
        )
    client.force_login(role_user("support"))
    page = client.get(url(buyer)).content.decode()
    assert "常用支付方式： 支付网关" in page


def test_support_reaches_the_profile_from_a_ticket(
    client, role_user, django_capture_on_commit_callbacks
):
    buyer = buyer_with_history(1, capture=django_capture_on_commit_callbacks)
    order = Order.objects.get(buyer=buyer)
    ticket = open_buyer_ticket(order=order, buyer=buyer, kind="inquiry", body="没到账")
    client.force_login(role_user("support"))
    page = client.get(f"/admin/orders/ticket/{ticket.pk}/change/").content.decode()
    assert f'href="{url(buyer)}"' in page
