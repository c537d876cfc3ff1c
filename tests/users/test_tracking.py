"""Behaviour tracking: logins, product views, shop searches, favourites, and
the roll-up that counts old events per day and deletes them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone

from catalog.models import Product
from tests.catalog.factories import make_category, make_product, make_sku
from tests.orders.factories import make_buyer
from users.models import (
    BehaviourDay,
    Favourite,
    LoginEvent,
    ProductView,
    ShopSearch,
)
from users.tasks import roll_up_tracking
from users.tracking import mask_ip, roll_up_behaviour

pytestmark = pytest.mark.django_db
AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)"


@pytest.fixture
def product():
    item = make_product(name="Q币直充卡", category=make_category("腾讯"))
    make_sku(product=item, name="10 Q币", price=Decimal("9.80"))
    return item


@pytest.fixture(autouse=True)
def _no_gateways(monkeypatch):
    monkeypatch.setattr("orders.storefront.views._channels", lambda: [])


def test_a_shop_login_is_recorded_with_address_and_browser(client):
    buyer = make_buyer(password="pw-123456")
    client.post(
        "/shop/login/",
        {"username": buyer.username, "password": "pw-123456"},
        HTTP_USER_AGENT=AGENT,
        REMOTE_ADDR="203.0.113.7",
    )
    event = LoginEvent.objects.get()
    assert (event.user, event.success, event.area) == (buyer, True, "shop")
    assert (event.ip, event.user_agent) == ("203.0.113.7", AGENT)


def test_a_failed_login_is_recorded_with_the_name_tried(client):
    make_buyer(password="pw-123456")
    client.post(
        "/shop/login/",
        {"username": "someone", "password": "wrong"},
        REMOTE_ADDR="198.51.100.20",
    )
    event = LoginEvent.objects.get()
    assert (event.user, event.success, event.username) == (None, False, "someone")


def test_a_back_office_login_is_recorded_as_such(client, role_user):
    staff = role_user("support")
    client.post(
        "/admin/login/?next=/admin/",
        {"username": staff.username, "password": "x-test-password"},
    )
    assert LoginEvent.objects.get().area == "admin"


def test_a_buyer_viewing_a_product_leaves_a_trail_and_a_guest_none(client, product):
    client.get(f"/shop/p/{product.pk}/")
    assert not ProductView.objects.exists()
    buyer = make_buyer()
    client.force_login(buyer)
    client.get(f"/shop/p/{product.pk}/")
    assert list(ProductView.objects.values_list("user", "product_id")) == [
        (buyer.pk, product.pk)
    ]


def test_a_failing_tracking_write_still_renders_the_page(client, product, monkeypatch):
    def broken(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(ProductView.objects, "create", broken)
    monkeypatch.setattr(ShopSearch.objects, "create", broken)
    client.force_login(make_buyer())
    page = client.get(f"/shop/p/{product.pk}/")
    assert page.status_code == 200 and "Q币直充卡" in page.content.decode()
    home = client.get("/shop/", {"q": "Q币"})
    assert home.status_code == 200 and "Q币直充卡" in home.content.decode()


def test_a_search_is_recorded_and_filters_the_products(client, product):
    make_product(name="网易一卡通").skus.create(
        name="50", price=Decimal("50.00"), code="NE-T", delivery_type="card"
    )
    page = client.get("/shop/", {"q": "  Q币 "}).content.decode()
    assert "Q币直充卡" in page and "网易一卡通" not in page
    assert list(ShopSearch.objects.values_list("query", "user")) == [("Q币", None)]


def test_an_empty_a_long_or_a_nul_search_is_harmless(client, product):
    assert client.get("/shop/", {"q": "   "}).status_code == 200
    assert client.get("/shop/", {"q": "x" * 500}).status_code == 200
    assert client.get("/shop/", {"q": "Q\x00币"}).status_code == 200
    lengths = sorted(len(q) for q in ShopSearch.objects.values_list("query", flat=True))
    assert lengths == [2, 100]


def test_the_heart_toggles_a_favourite(client, product):
    buyer = make_buyer()
    client.force_login(buyer)
    response = client.post(f"/shop/p/{product.pk}/favourite/")
    assert response.status_code == 302
    assert Favourite.objects.filter(user=buyer, product_id=product.pk).exists()
    page = client.get(f"/shop/p/{product.pk}/").content.decode()
    assert 'aria-pressed="true"' in page
    assert "Q币直充卡" in client.get("/shop/favourites/").content.decode()

    client.post(f"/shop/p/{product.pk}/favourite/")
    assert not Favourite.objects.exists()
    assert "Q币直充卡" not in client.get("/shop/favourites/").content.decode()


def test_the_heart_wants_a_post_with_csrf_a_login_and_a_listed_product(product):
    strict = Client(enforce_csrf_checks=True)
    buyer = make_buyer()
    strict.force_login(buyer)
    assert strict.post(f"/shop/p/{product.pk}/favourite/").status_code == 403
    assert strict.get(f"/shop/p/{product.pk}/favourite/").status_code == 405
    guest = Client()
    response = guest.post(f"/shop/p/{product.pk}/favourite/")
    assert response.status_code == 302 and "/shop/login/" in response["Location"]
    hidden = make_product(name="下架", status=Product.Status.UNLISTED)
    client = Client()
    client.force_login(buyer)
    assert client.post(f"/shop/p/{hidden.pk}/favourite/").status_code == 404
    assert client.post("/shop/p/999999/favourite/").status_code == 404
    assert not Favourite.objects.exists()


def test_an_unlisted_favourite_drops_out_of_the_list(client, product):
    buyer = make_buyer()
    client.force_login(buyer)
    client.post(f"/shop/p/{product.pk}/favourite/")
    Product.objects.filter(pk=product.pk).update(status=Product.Status.UNLISTED)
    assert "Q币直充卡" not in client.get("/shop/favourites/").content.decode()


def test_old_events_are_counted_per_day_and_deleted(product):
    buyer = make_buyer()
    now = timezone.now()
    old = now - timedelta(days=100)
    for _ in range(3):
        ProductView.objects.create(user=buyer, product_id=product.pk, created_at=old)
    ProductView.objects.create(user=buyer, product_id=product.pk, created_at=now)
    LoginEvent.objects.create(user=buyer, success=True, area="shop", created_at=old)
    LoginEvent.objects.create(success=False, area="shop", created_at=old)
    ShopSearch.objects.create(query="Q币", created_at=old)

    assert roll_up_behaviour(now=now, retention_days=90) == {
        "logins": 2,
        "views": 1,
        "searches": 1,
    }
    counts = {(row.user_id, row.kind): row.count for row in BehaviourDay.objects.all()}
    assert counts == {
        (buyer.pk, "view"): 3,
        (buyer.pk, "login"): 1,
        (None, "login_failed"): 1,
        (None, "search"): 1,
    }
    assert ProductView.objects.count() == 1  # the recent one stays
    assert not LoginEvent.objects.exists() and not ShopSearch.objects.exists()
    assert roll_up_behaviour(now=now, retention_days=90) == {
        "logins": 0,
        "views": 0,
        "searches": 0,
    }
    assert BehaviourDay.objects.count() == 4


def test_the_beat_task_uses_the_configured_retention(settings, product):
    settings.TRACKING_RETENTION_DAYS = 7
    buyer = make_buyer()
    ProductView.objects.create(
        user=buyer,
        product_id=product.pk,
        created_at=timezone.now() - timedelta(days=8),
    )
    assert roll_up_tracking.delay().get()["views"] == 1
    assert not ProductView.objects.exists()


@pytest.mark.parametrize(
    ("ip", "shown"),
    [
        ("203.0.113.7", "203.0.*.*"),
        ("2001:db8::1", "2001:db8:*"),
        (None, "—"),
        ("", "—"),
        ("not-an-ip", "—"),
    ],
)
def test_ips_are_masked_in_lists(ip, shown):
    assert mask_ip(ip) == shown


def test_behind_a_trusted_proxy_the_login_keeps_the_clients_address(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    buyer = make_buyer(password="pw-123456")
    client.post(
        "/shop/login/",
        {"username": buyer.username, "password": "pw-123456"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.33",
    )
    assert LoginEvent.objects.get().ip == "198.51.100.33"
