"""Guests' contacts and recharge accounts encrypted at rest (issue 15): the order
row holds tokens and keyed digests only; the order reads them in plain text; the
admin's order list, the shop's order lookup and the workbench still find an
order by an exact contact, phone or account value, never by part of one."""

from decimal import Decimal

import pytest
from django.core.exceptions import FieldError
from django.db import connection
from django.urls import reverse

from kameng import crypto
from kameng.fields import account_match, blind_index, contact_match
from orders.checkout import place_order
from orders.models import Order
from tests.catalog.factories import make_sku
from tests.catalog.suppliers_factories import make_topup_sku
from tests.orders.factories import make_buyer, stock_codes
from tests.orders.workbench_helpers import make_order

pytestmark = pytest.mark.django_db

GUEST = "13812345678"
ACCOUNT = {"role_id": "player_866540", "server": "安卓微信区"}
ORDERS = reverse("admin:orders_order_changelist")


def raw_row(order) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contact, recharge_account, contact_index, "
            "recharge_account_index FROM orders_order WHERE id = %s",
            [order.pk],
        )
        names = ("contact", "account", "contact_index", "account_index")
        return dict(zip(names, cursor.fetchone(), strict=True))


@pytest.fixture
def topup_order():
    sku = make_topup_sku(
        recharge_fields=[
            {"key": "role_id", "label": "角色ID", "rule": "game_id"},
            {"key": "server", "label": "区服", "rule": "game_id"},
        ]
    )
    return make_order(sku, contact=GUEST, recharge_account=dict(ACCOUNT))


def test_the_order_row_holds_no_contact_or_account(topup_order):
    row = raw_row(topup_order)
    dump = " ".join(str(value) for value in row.values())
    for secret in (GUEST, "12345678", "player_866540", "866540", "安卓微信区"):
        assert secret not in dump
    assert crypto.decrypt(row["contact"]) == GUEST
    assert row["contact_index"] == blind_index(GUEST)

    fresh = Order.objects.get(pk=topup_order.pk)
    assert fresh.contact == GUEST
    assert fresh.recharge_account == ACCOUNT
    values = Order.objects.filter(pk=fresh.pk).values_list("recharge_account")
    assert list(values) == [(ACCOUNT,)]


def test_an_order_without_an_account_stores_nothing_for_it():
    sku = make_sku()
    order = make_order(sku, buyer=make_buyer())
    row = raw_row(order)
    assert row["contact"] == "" and row["account"] == ""
    assert Order.objects.get(pk=order.pk).recharge_account == {}
    assert Order.objects.filter(pk=order.pk, recharge_account={}).exists()


def test_any_account_value_finds_the_order_and_part_of_one_does_not(topup_order):
    for typed in ("player_866540", " 安卓微信区 "):
        found = Order.objects.filter(account_match("recharge_account", typed))
        assert list(found) == [topup_order]
    assert not Order.objects.filter(account_match("recharge_account", "player_8"))
    with pytest.raises(FieldError):
        list(Order.objects.filter(contact=GUEST))
    with pytest.raises(FieldError):
        list(Order.objects.filter(recharge_account__contains="player"))


def test_the_admin_order_list_finds_a_whole_phone_and_keeps_it_masked(
    client, role_user, topup_order
):
    buyer = make_buyer(phone="13900001111", email="Bob@163.com")
    bought = make_order(make_sku(), buyer=buyer)
    client.force_login(role_user("support", username="clerk"))

    def listed(term) -> str:
        response = client.get(ORDERS, {"q": term})
        assert response.status_code == 200
        return response.content.decode()

    page = listed("+86 138 1234 5678")  # the guest's contact, however spaced
    assert topup_order.order_no in page and bought.order_no not in page
    assert "138****5678" in page and GUEST not in page  # still masked in the list
    page = listed("139-0000-1111")  # the buyer's own phone
    assert bought.order_no in page and topup_order.order_no not in page
    assert bought.order_no in listed("bob@163.com")
    assert topup_order.order_no in listed(topup_order.order_no)
    part = listed("1381234")
    assert topup_order.order_no not in part
    assert "加密" in part  # the box says partial search cannot work


def test_the_shop_lookup_finds_the_order_by_the_contact_however_typed(client):
    sku = make_sku(price=Decimal("9.80"))
    stock_codes(sku, 1)
    order = place_order(
        sku=sku, quantity=1, contact="Guest.Bob@163.com", lookup_password="2468"
    )
    assert "Guest" not in raw_row(order)["contact"]
    hit = client.post(
        "/shop/lookup/",
        {
            "order_no": order.order_no,
            "contact": " guest.bob@163.COM ",
            "password": "2468",
        },
    )
    assert hit["Location"] == f"/shop/orders/{order.order_no}/"
    miss = client.post(
        "/shop/lookup/",
        {"order_no": order.order_no, "contact": "guest.bob", "password": "2468"},
    )
    assert miss.status_code == 200 and miss.context["form"].non_field_errors()


def test_the_workbench_search_box_says_only_whole_values_match(client, role_user):
    client.force_login(role_user("support", username="clerk"))
    page = client.get(reverse("orders:workbench")).content.decode()
    assert "加密" in page


def test_contact_match_of_nothing_matches_nothing(topup_order):
    assert not Order.objects.filter(contact_match("contact", "  "))
    assert not Order.objects.filter(account_match("recharge_account", ""))
