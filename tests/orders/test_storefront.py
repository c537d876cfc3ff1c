"""The storefront as a buyer uses it: browse, buy with balance, see the codes,
look a guest order up. Gateway checkout is tested with the payments."""

import re
import uuid
from decimal import Decimal

import pytest
from django.core.cache import cache

from catalog.models import Product, Sku
from orders.checkout import place_order
from orders.models import Order
from tests.catalog.factories import make_category, make_product, make_sku
from tests.orders.factories import make_buyer, stock_codes
from users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_gateways(monkeypatch):
    monkeypatch.setattr("orders.storefront.views._channels", lambda: [])
    cache.clear()


@pytest.fixture
def card_sku():
    product = make_product(name="Q币直充卡", category=make_category("腾讯"))
    sku = make_sku(product=product, name="10 Q币", price=Decimal("9.80"))
    stock_codes(sku, 3)
    return sku


def test_home_lists_what_is_on_sale(client, card_sku):
    make_product(name="下架商品", status=Product.Status.UNLISTED)
    page = client.get("/shop/").content.decode()
    assert "Q币直充卡" in page and "¥9.80" in page
    assert "下架商品" not in page


def test_a_buyer_pays_with_balance_and_sees_the_codes(client, card_sku):
    buyer = make_buyer(Decimal("30.00"), password="pw-123456")
    client.force_login(buyer)
    page = client.get(f"/shop/p/{card_sku.product_id}/")
    assert "10 Q币" in page.content.decode()
    response = client.post(
        f"/shop/p/{card_sku.product_id}/?sku={card_sku.pk}",
        {"quantity": "2", "payment": "wallet"},
    )
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/shop/orders/{order.order_no}/"
    page = client.get(response["Location"]).content.decode()
    assert order.status == "delivered"
    assert page.count("<li><code>") == 2
    assert client.get("/shop/wallet/").context["wallet"].balance == Decimal("10.40")


def buy_by_htmx(client, sku, *, quantity="1", payment="wallet"):
    """The checkout form as htmx sends it when the product page has script on."""
    return client.post(
        f"/shop/p/{sku.product_id}/?sku={sku.pk}",
        {"quantity": quantity, "payment": payment},
        headers={"HX-Request": "true"},
    )


def test_a_purchase_sent_by_htmx_gets_the_order_page_at_once(client, card_sku):
    client.force_login(make_buyer(Decimal("30.00")))
    response = buy_by_htmx(client, card_sku, quantity="2")
    order = Order.objects.get()
    # the order page itself, no redirect to follow, and its address for the
    # browser's history: a reload asks for the order, not the purchase
    assert response.status_code == 200
    assert response["HX-Push-Url"] == f"/shop/orders/{order.order_no}/"
    page = response.content.decode()
    assert f"订单 {order.order_no}" in page
    assert page.count("<li><code>") == 2
    assert client.get(response["HX-Push-Url"]).content.decode().count("<li><code>") == 2
    assert Order.objects.count() == 1


def test_a_refused_htmx_purchase_shows_the_form_again_with_why(client, card_sku):
    client.force_login(make_buyer(Decimal("5.00")))
    response = buy_by_htmx(client, card_sku)
    assert response.status_code == 200
    assert "HX-Push-Url" not in response
    assert "余额不足" in response.content.decode()
    assert not Order.objects.exists()


def test_an_htmx_purchase_paid_at_a_gateway_leaves_for_the_gateway(
    client, card_sku, monkeypatch
):
    monkeypatch.setattr(
        "orders.storefront.views._channels", lambda: [("sandbox", "沙箱")]
    )
    client.force_login(make_buyer(Decimal("0.00")))
    response = buy_by_htmx(client, card_sku, payment="sandbox")
    order = Order.objects.get()
    # htmx's request cannot follow a redirect to another site: it is told to
    # send the whole page there
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"/pay/sandbox/{order.order_no}/"
    assert order.status == "pending_payment"


def test_the_checkout_form_posts_itself_or_through_htmx_to_one_address(
    client, card_sku
):
    client.force_login(make_buyer(Decimal("30.00")))
    path = f"/shop/p/{card_sku.product_id}/?sku={card_sku.pk}"
    page = client.get(path).content.decode()
    form = re.search(r'<form method="post" class="checkout"[^>]*>', page).group(0)
    # without script the browser posts it to the page's own address
    assert "action=" not in form
    assert f'hx-post="{path}"' in form and 'hx-target="body"' in form


def test_a_short_balance_is_explained_and_charges_nothing(client, card_sku):
    client.force_login(make_buyer(Decimal("5.00")))
    page = client.post(
        f"/shop/p/{card_sku.product_id}/", {"quantity": "1", "payment": "wallet"}
    )
    assert page.status_code == 200
    assert "余额不足" in page.content.decode()
    # Placing and paying is one transaction: a refused payment leaves no order.
    assert not Order.objects.exists()


def test_quantity_outside_the_limits_is_refused_on_the_form(client, card_sku):
    client.force_login(make_buyer(Decimal("500.00")))
    page = client.post(
        f"/shop/p/{card_sku.product_id}/", {"quantity": "1000", "payment": "wallet"}
    )
    assert page.status_code == 200
    assert page.context["form"].errors["quantity"]
    assert not Order.objects.exists()


def test_the_price_breakdown_follows_the_quantity(client, card_sku):
    fragment = client.get(f"/shop/quote/{card_sku.pk}/", {"quantity": "3"})
    assert "¥29.40" in fragment.content.decode()
    fragment = client.get(f"/shop/quote/{card_sku.pk}/", {"quantity": "abc"})
    assert fragment.status_code == 200 and fragment.context["quote"] is None


def test_a_bad_recharge_account_is_named_on_its_field(client):
    sku = make_sku(
        delivery_type=Sku.DeliveryType.TOPUP,
        recharge_fields=[{"key": "phone", "label": "手机号", "rule": "phone"}],
    )
    client.force_login(make_buyer(Decimal("100.00")))
    page = client.post(
        f"/shop/p/{sku.product_id}/",
        {"quantity": "1", "payment": "wallet", "account_phone": "12345"},
    )
    assert page.status_code == 200
    assert page.context["form"].errors["account_phone"]
    assert 'pattern="(\\+86|0086)?1[3-9][0-9]{9}"' in page.content.decode()
    assert not Order.objects.exists()


def test_an_order_page_is_only_for_its_buyer(client, card_sku):
    order = place_order(sku=card_sku, quantity=1, buyer=make_buyer())
    assert client.get(f"/shop/orders/{order.order_no}/").status_code == 404
    client.force_login(make_buyer())
    assert client.get(f"/shop/orders/{order.order_no}/").status_code == 404
    client.force_login(order.buyer)
    assert client.get(f"/shop/orders/{order.order_no}/").status_code == 200


def test_guest_lookup_needs_all_three_and_is_rate_limited(client, card_sku, settings):
    # Off elsewhere in the suite (tests/conftest.py); a bucket of this test's own.
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_CACHE_PREFIX = f"rl-{uuid.uuid4().hex}:"
    order = place_order(
        sku=card_sku, quantity=1, contact="13800138000", lookup_password="2468"
    )
    miss = client.post(
        "/shop/lookup/",
        {"order_no": order.order_no, "contact": "13800138000", "password": "0000"},
    )
    assert miss.status_code == 200
    assert miss.context["form"].non_field_errors()
    hit = client.post(
        "/shop/lookup/",
        {"order_no": order.order_no, "contact": "13800138000", "password": "2468"},
    )
    assert hit["Location"] == f"/shop/orders/{order.order_no}/"
    assert client.get(hit["Location"]).status_code == 200

    for _ in range(10):
        client.post("/shop/lookup/", {"order_no": "x", "contact": "y", "password": "z"})
    assert client.post("/shop/lookup/", {}).status_code == 429


def test_my_orders_pages_by_keyset(client, card_sku):
    buyer = make_buyer()
    orders = [place_order(sku=card_sku, quantity=1, buyer=buyer) for _ in range(23)]
    client.force_login(buyer)
    first = client.get("/shop/orders/")
    assert len(first.context["orders"]) == 20
    second = client.get(f"/shop/orders/?before={first.context['next_before']}")
    assert [o.pk for o in second.context["orders"]] == [o.pk for o in orders[2::-1]]
    assert second.context["next_before"] is None
    assert client.get("/shop/orders/?before=abc").status_code == 404


def test_sign_up_logs_the_buyer_in(client):
    response = client.post(
        "/shop/signup/",
        {
            "username": "newbuyer",
            "email": "new@example.com",
            "password1": "a-Long-pass-9876",
            "password2": "a-Long-pass-9876",
        },
    )
    assert response.status_code == 302
    assert User.objects.filter(username="newbuyer", is_staff=False).exists()
    assert client.get("/shop/wallet/").status_code == 200


def test_the_shop_speaks_chinese_first(client, card_sku):
    page = client.get("/shop/").content.decode()
    assert 'lang="zh-hans"' in page


def test_stock_at_the_threshold_shows_as_low_as_in_the_back_office(client):
    sku = make_sku(price=Decimal("1.00"), low_stock_threshold=3)
    stock_codes(sku, 3)
    page = client.get(f"/shop/p/{sku.product_id}/").content.decode()
    assert "仅剩 3 件" in page
