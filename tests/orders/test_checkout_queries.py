"""What one purchase costs the database (issue 12): upper bounds on the queries
of the buy POST and of the order page it leads to, on PostgreSQL (the hand-
written sale) and on any database (the ORM path)."""

import re
from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import CardCode
from kameng import crypto
from orders.models import Order
from tests.catalog.factories import make_sku
from tests.marketing.flash_helpers import make_flash_sale
from tests.orders.factories import make_buyer, stock_codes

# Postgres, hand-written sale: user, 4 sale statements (the first also asks the
# blacklist, the third also writes order_paid's outbox row; and the test's
# savepoint pair; the
# buyer's growth runs in the worker after commit); the ORM path: more, its
# outbox row an INSERT of its own. The buyer's coupons are not listed on the POST.
BUY_POST_MAX = {"postgresql": 7, "other": 23}
# user; the order with what it has (notes, refunds, tickets, reissues, a
# review) and its codes' ciphertexts
ORDER_PAGE_MAX = 2


def _vendor() -> str:
    return "postgresql" if connection.vendor == "postgresql" else "other"


@pytest.fixture
def buying(client):
    sku = make_sku(price=Decimal("1.00"))
    stock_codes(sku, 5)
    buyer = make_buyer(Decimal("10.00"))
    client.force_login(buyer)
    path = f"/shop/p/{sku.product_id}/?sku={sku.pk}"
    client.post(path, {"quantity": "1", "payment": "wallet"})  # warm: stats row
    return client, path


@pytest.mark.django_db
def test_the_buy_post_stays_within_its_queries(buying, django_assert_max_num_queries):
    client, path = buying
    with django_assert_max_num_queries(BUY_POST_MAX[_vendor()]):
        response = client.post(path, {"quantity": "1", "payment": "wallet"})
    assert response.status_code == 302
    assert response["Location"].startswith("/shop/orders/")


@pytest.mark.django_db
def test_the_order_page_is_a_few_queries(buying, django_assert_max_num_queries):
    client, path = buying
    location = client.post(path, {"quantity": "1", "payment": "wallet"})["Location"]
    with django_assert_max_num_queries(ORDER_PAGE_MAX):
        page = client.get(location)
    assert page.status_code == 200
    assert b'data-testid="codes"' in page.content


@pytest.mark.django_db
def test_a_purchase_sent_by_htmx_is_the_post_and_the_page_in_one(
    buying, django_assert_max_num_queries
):
    client, path = buying
    # one request: the buyer (and its session) read once for both
    with django_assert_max_num_queries(BUY_POST_MAX[_vendor()] + ORDER_PAGE_MAX - 1):
        response = client.post(
            path, {"quantity": "1", "payment": "wallet"}, headers={"HX-Request": "true"}
        )
    assert response["HX-Push-Url"].startswith("/shop/orders/")
    assert b'data-testid="codes"' in response.content


@pytest.mark.django_db
def test_the_page_lists_the_codes_sold_in_the_order_they_were_taken(client):
    sku = make_sku(price=Decimal("1.00"), max_quantity=5)
    texts = stock_codes(sku, 6)
    client.force_login(make_buyer(Decimal("10.00")))
    bought = client.post(
        f"/shop/p/{sku.product_id}/?sku={sku.pk}",
        {"quantity": "3", "payment": "wallet"},
    )
    order = Order.objects.get(order_no=bought["Location"].split("/")[-2])
    taken = [
        crypto.decrypt(CardCode.objects.get(pk=pk).secret)
        for pk in order.delivery["code_ids"]
    ]
    page = client.get(bought["Location"]).content.decode()
    shown = re.findall(r"<li><code>([^<]+)</code></li>", page)
    assert shown == taken
    assert len(set(shown)) == 3 and set(shown) <= set(texts)


# A flash sale's buy POST: as above, plus, before the same sale statements,
# the order's id reserved and the claim (the SKU's cost, the buyer's counter,
# the sale's row, the claim row); the ORM path: more.
FLASH_POST_MAX = {"postgresql": 12, "other": 27}


@pytest.mark.django_db
def test_a_flash_sale_buy_post_stays_within_its_queries(
    buying, django_assert_max_num_queries
):
    client, path = buying
    sku = Order.objects.latest("id").sku
    sale = make_flash_sale(sku, price=Decimal("0.50"), cap=5, per_buyer=3)
    client.post(path, {"quantity": "1", "payment": "wallet"})  # its first quote
    with django_assert_max_num_queries(FLASH_POST_MAX[_vendor()]):
        response = client.post(path, {"quantity": "1", "payment": "wallet"})
    assert response.status_code == 302
    order = Order.objects.latest("id")
    assert order.amount == Decimal("0.50")
    sale.refresh_from_db()
    assert sale.sold == 2
