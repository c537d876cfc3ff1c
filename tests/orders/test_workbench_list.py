"""The order workbench list: every filter and exact search narrows to the
orders a member of staff expects, saved filters are each person's own, and the
page reads the same number of queries for 5 rows as for 50."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Sku
from orders.models import Fulfilment, Order, SavedOrderFilter
from orders.workbench import orders_matching, parse_filters
from tests.catalog.factories import make_sku
from tests.catalog.suppliers_factories import make_offer, make_supplier, make_topup_sku
from tests.orders.factories import make_buyer
from tests.orders.workbench_helpers import local, make_order
from users.models import MemberLevel, RiskFlag

pytestmark = pytest.mark.django_db

URL = reverse("orders:workbench")


def shown(client, query: dict) -> list[str]:
    response = client.get(URL, query)
    assert response.status_code == 200
    page = response.context["page"]
    assert page is not None, response.context["form"].errors
    return [order.order_no for order in page.rows]


@pytest.fixture
def support(client, role_user):
    user = role_user("support")
    client.force_login(user)
    return user


@pytest.fixture
def shop():
    """A small shop: a card, a manual and a top-up item, two suppliers, a gold
    buyer and a guest, orders of every kind over three days."""
    gold = MemberLevel.objects.create(code="wb-gold", name="黄金会员", rank=3)
    card = make_sku(price=Decimal("10.00"))
    manual = make_sku(delivery_type=Sku.DeliveryType.MANUAL)
    topup = make_topup_sku(
        recharge_fields=[{"key": "phone", "label": "手机号", "rule": "phone"}]
    )
    fast, slow = make_supplier(name="快充"), make_supplier(name="慢充")
    fast_offer = make_offer(fast, topup)
    make_offer(slow, topup)
    vip = make_buyer(phone="13900000001", email="Vip@Example.com")
    vip.member_level = gold
    vip.save(update_fields=["member_level"])
    plain = make_buyer()
    orders = {
        "card_vip": make_order(
            card, buyer=vip, amount=Decimal("10.00"), created=local(2026, 11, 1)
        ),
        "manual_paid": make_order(
            manual,
            buyer=plain,
            status=Order.Status.PAID,
            amount=Decimal("88.00"),
            created=local(2026, 11, 2),
        ),
        "topup_failed": make_order(
            topup,
            contact="guest@example.com",
            status=Order.Status.FAILED,
            flag=Order.Flag.SUPPLIER_FAILURE,
            payment_method=Order.PaymentMethod.GATEWAY,
            amount=Decimal("50.00"),
            recharge_account={"phone": "13800138000"},
            created=local(2026, 11, 3),
        ),
    }
    Fulfilment.objects.create(
        order=orders["topup_failed"],
        offer=fast_offer,
        state=Fulfilment.State.FAILED,
        next_attempt_at=local(2026, 11, 3),
    )
    return {"orders": orders, "gold": gold, "fast": fast, "slow": slow, "vip": vip}


def no(shop, *names) -> list[str]:
    return [shop["orders"][name].order_no for name in names]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["topup_failed", "manual_paid", "card_vip"]),
        ({"status": "paid"}, ["manual_paid"]),
        ({"delivery_type": "card"}, ["card_vip"]),
        ({"flag": "any"}, ["topup_failed"]),
        ({"flag": "supplier_failure"}, ["topup_failed"]),
        ({"flag": "payment_timeout"}, []),
        ({"payment_method": "gateway"}, ["topup_failed"]),
        ({"created_from": "2026-11-02"}, ["topup_failed", "manual_paid"]),
        ({"created_to": "2026-11-02"}, ["manual_paid", "card_vip"]),
        (
            {"created_from": "2026-11-02", "created_to": "2026-11-02"},
            ["manual_paid"],
        ),
        ({"amount_min": "50"}, ["topup_failed", "manual_paid"]),
        ({"amount_max": "50.00"}, ["topup_failed", "card_vip"]),
        ({"amount_min": "11", "amount_max": "60"}, ["topup_failed"]),
        ({"status": "delivered", "delivery_type": "topup"}, []),
    ],
)
def test_each_filter_narrows_the_list(client, support, shop, query, expected):
    assert shown(client, query) == no(shop, *expected)


def test_the_supplier_and_member_level_filters(client, support, shop):
    assert shown(client, {"supplier": shop["fast"].pk}) == no(shop, "topup_failed")
    assert shown(client, {"supplier": shop["slow"].pk}) == []
    assert shown(client, {"member_level": shop["gold"].pk}) == no(shop, "card_vip")


@pytest.mark.parametrize(
    ("search_in", "term", "expected"),
    [
        ("order_no", "the order", ["card_vip"]),
        ("order_no", "2611", []),  # exact, not a prefix
        ("buyer", "the username", ["card_vip"]),
        ("buyer", "13900000001", ["card_vip"]),
        ("buyer", "vip@example.com", ["card_vip"]),  # e-mail in any case
        ("contact", "guest@example.com", ["topup_failed"]),
        ("contact", "guest@", []),
        ("recharge_account", "13800138000", ["topup_failed"]),
        ("recharge_account", "1380013800", []),
    ],
)
def test_exact_searches(client, support, shop, search_in, term, expected):
    if term == "the order":
        term = shop["orders"]["card_vip"].order_no
    if term == "the username":
        term = shop["vip"].username
    assert shown(client, {"q": term, "search_in": search_in}) == no(shop, *expected)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"created_from": "2026-11-03", "created_to": "2026-11-01"}, "created_to"),
        ({"amount_min": "60", "amount_max": "10"}, "amount_max"),
        ({"amount_min": "abc"}, "amount_min"),
        ({"status": "nonsense"}, "status"),
        ({"created_from": "2026-13-01"}, "created_from"),
    ],
)
def test_a_wrong_filter_is_named_and_shows_no_rows(client, support, query, field):
    response = client.get(URL, query)
    assert response.status_code == 200
    assert response.context["page"] is None
    assert field in response.context["form"].errors


def test_pages_follow_without_a_total(client, support):
    sku = make_sku()
    made = [make_order(sku, created=local(2026, 11, day)) for day in range(1, 26)]
    newest_first = [order.order_no for order in reversed(made)]
    first = client.get(URL, {"per_page": 20})
    assert [o.order_no for o in first.context["page"].rows] == newest_first[:20]
    assert first.context["page"].has_more
    second = client.get(URL, {"per_page": 20, "p": 2})
    assert [o.order_no for o in second.context["page"].rows] == newest_first[20:]
    assert not second.context["page"].has_more
    assert "共" not in second.content.decode()  # no made-up total


def _page_queries(client, query: dict, rows: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"delivery_type": "topup", **query})
    assert response.status_code == 200
    assert len(response.context["page"].rows) == rows
    return len(queries)


def test_the_list_reads_as_many_queries_for_5_orders_as_for_50(client, role_user):
    """Each row shows its item, buyer, level, supplier and risk flag: joined or
    read for the whole page, not a query per row."""
    client.force_login(role_user("finance"))
    level = MemberLevel.objects.create(code="wb-silver", name="白银", rank=2)
    offer = make_offer(make_supplier(name="快充"))
    for n in range(50):
        buyer = make_buyer()
        buyer.member_level = level
        buyer.save(update_fields=["member_level"])
        if n % 2:
            RiskFlag.objects.create(user=buyer, refunds=5)
        day = local(2026, 10, 1 + n) if n < 5 else local(2026, 11, 1 + n % 20)
        order = make_order(offer.sku, buyer=buyer, created=day)
        Fulfilment.objects.create(
            order=order, offer=offer, next_attempt_at=local(2026, 11, 1)
        )
    _page_queries(client, {"created_to": "2026-10-31"}, 5)  # warm per-process caches
    five = _page_queries(client, {"created_to": "2026-10-31"}, 5)
    fifty = _page_queries(client, {"created_from": "2026-10-01"}, 50)
    assert five == fifty
    assert _page_queries(client, {"per_page": 20}, 20) == fifty


def test_saved_filters_are_each_staff_members_own(client, role_user, shop):
    alice = role_user("support", "alice")
    bob = role_user("support", "bob")
    client.force_login(alice)
    response = client.post(
        reverse("orders:workbench_save_filter"),
        {"name": "待发货人工单", "query": "status=paid&delivery_type=manual"},
    )
    assert response.status_code == 302
    saved = SavedOrderFilter.objects.get(owner=alice)
    page = client.get(URL).content.decode()
    assert "待发货人工单" in page
    assert shown(client, dict(pair.split("=") for pair in saved.query.split("&"))) == (
        no(shop, "manual_paid")
    )

    client.force_login(bob)
    assert "待发货人工单" not in client.get(URL).content.decode()
    refused = client.post(reverse("orders:workbench_delete_filter", args=[saved.pk]))
    assert refused.status_code == 404
    assert SavedOrderFilter.objects.filter(pk=saved.pk).exists()

    client.force_login(alice)
    client.post(reverse("orders:workbench_delete_filter", args=[saved.pk]))
    assert not SavedOrderFilter.objects.filter(pk=saved.pk).exists()


def test_saving_the_same_name_again_replaces_the_filters(client, support):
    save = reverse("orders:workbench_save_filter")
    client.post(save, {"name": "异常", "query": "flag=any"})
    client.post(save, {"name": "异常", "query": "flag=supplier_failure"})
    assert list(SavedOrderFilter.objects.values_list("name", "query")) == [
        ("异常", "flag=supplier_failure")
    ]


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("", "status=paid"),
        ("空", ""),
        ("坏", "amount_min=abc"),
        ("长" * 61, "flag=any"),
    ],
)
def test_a_filter_without_a_name_or_filters_is_not_saved(client, support, name, query):
    response = client.post(
        reverse("orders:workbench_save_filter"), {"name": name, "query": query}
    )
    assert response.status_code == 302
    assert not SavedOrderFilter.objects.exists()


def test_the_selector_and_the_page_select_the_same_orders(client, support, shop):
    """The export job runs the same query from the same form."""
    form = parse_filters({"amount_min": "50"})
    assert form.is_valid()
    assert list(
        orders_matching(form.cleaned_data).values_list("order_no", flat=True)
    ) == (shown(client, {"amount_min": "50"}))


def test_staff_without_the_order_view_permission_are_refused(client, role_user):
    client.force_login(role_user("marketing"))
    assert client.get(URL).status_code == 403


def test_a_risk_buyer_is_flagged_in_the_list_and_on_the_order_page(
    client, support, shop
):
    RiskFlag.objects.create(user=shop["vip"], refunds=4, reissues=1)
    row = client.get(URL).content.decode().split(shop["orders"]["card_vip"].order_no)
    assert 'data-testid="risk-flag"' in row[2].split("</tr>")[0]
    order = shop["orders"]["card_vip"]
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert 'data-testid="order-risk"' in page.content.decode()
    other = shop["orders"]["manual_paid"]
    page = client.get(reverse("admin:orders_order_change", args=[other.pk]))
    assert 'data-testid="order-risk"' not in page.content.decode()
