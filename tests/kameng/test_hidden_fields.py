"""A hidden field cannot be recovered by asking the list yes/no questions.

Support and marketing do not see cost prices. Before, they recovered each exact
cost in ~17 requests by binary search on the SKU list's own filters
(`?code=QB-10&cost_price__lte=9.30`), or by ordering on it. Now every list
refuses such a lookup (400, the admin's answer to a lookup it does not allow)
and ignores such an ordering, whatever the cost is: two shops differing only in
the cost give the same answers. Password hashes and supplier keys are guarded
from everyone.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from catalog.models import Category, Product, Sku, Supplier
from kameng.access import GUARDED_FIELDS

BLIND_ROLES = ("support", "marketing")


def make_sku(code: str, cost: str) -> Sku:
    category, _ = Category.objects.get_or_create(name="游戏点卡", slug="game")
    product = Product.objects.create(category=category, name=f"Q币 {code}")
    return Sku.objects.create(
        product=product,
        code=code,
        name=f"{code} 面值",
        delivery_type=Sku.DeliveryType.CARD,
        stock_mode=Sku.StockMode.CODES,
        price=Decimal("9.80"),
        cost_price=Decimal(cost),
    )


def row_codes(response) -> list[str]:
    """The SKU codes of the list's rows, in order (none on a refusal)."""
    if response.status_code != 200:
        return []
    return [sku.code for sku in response.context["cl"].result_list]


ATTACKS = [
    "/admin/catalog/sku/?code=QB-10&cost_price__lte=9.30",
    "/admin/catalog/sku/?code=QB-10&cost_price__gt=9.30",
    "/admin/catalog/sku/?cost_price=9.31",
    "/admin/catalog/sku/?cost_price__range=0,9.30",
    "/admin/catalog/sku/?cost_price__isnull=False",
    "/admin/catalog/product/?skus__cost_price__lte=9.30",
    "/admin/orders/order/?sku__cost_price__lte=9.30",
    "/admin/catalog/sku/?product__skus__cost_price__lte=9.30",
]


@pytest.mark.parametrize("role", BLIND_ROLES)
@pytest.mark.parametrize("url", ATTACKS)
def test_cost_filters_are_refused_to_roles_that_cannot_see_cost(
    client, role_user, role, url
):
    make_sku("QB-10", "9.31")
    client.force_login(role_user(role))
    response = client.get(url)
    assert response.status_code in (400, 403)  # 403: a list the role cannot open
    assert "9.31" not in response.content.decode()


@pytest.mark.parametrize("role", BLIND_ROLES)
def test_the_binary_search_learns_nothing(client, role_user, role):
    """The answer to every probe is the same whether the cost is 9.31 or 1.00."""
    client.force_login(role_user(role))
    sku = make_sku("QB-10", "9.31")
    probes = [
        f"/admin/catalog/sku/?code=QB-10&cost_price__lte={x}"
        for x in ("5.00", "9.30", "9.31", "9.32", "20.00")
    ]
    first = [
        (client.get(url).status_code, row_codes(client.get(url))) for url in probes
    ]
    Sku.objects.filter(pk=sku.pk).update(cost_price=Decimal("1.00"))
    second = [
        (client.get(url).status_code, row_codes(client.get(url))) for url in probes
    ]
    assert first == second
    assert {status for status, _rows in first} == {400}


def test_finance_still_filters_on_cost(client, role_user):
    make_sku("QB-10", "9.31")
    client.force_login(role_user("finance"))
    assert row_codes(client.get("/admin/catalog/sku/?cost_price__lte=9.31")) == [
        "QB-10"
    ]
    assert row_codes(client.get("/admin/catalog/sku/?cost_price__lte=9.30")) == []


@pytest.mark.parametrize("role", BLIND_ROLES)
def test_ordering_the_list_does_not_reveal_the_order_of_costs(client, role_user, role):
    """Every column index of ?o= gives the same row order when the costs swap."""
    cheap, dear = make_sku("QB-11", "1.00"), make_sku("QB-12", "9.00")
    client.force_login(role_user(role))
    urls = [f"/admin/catalog/sku/?o={sign}{i}" for i in range(12) for sign in "-"]
    urls += [f"/admin/catalog/sku/?o={i}" for i in range(12)]
    before = [row_codes(client.get(url)) for url in urls]
    Sku.objects.filter(pk=cheap.pk).update(cost_price=Decimal("9.00"))
    Sku.objects.filter(pk=dear.pk).update(cost_price=Decimal("1.00"))
    after = [row_codes(client.get(url)) for url in urls]
    assert before == after


def test_finance_orders_by_cost(client, role_user):
    make_sku("QB-11", "9.00")
    make_sku("QB-12", "1.00")
    client.force_login(role_user("finance"))
    response = client.get("/admin/catalog/sku/")
    columns = response.context["cl"].list_display
    index = list(columns).index("cost_price")
    assert row_codes(client.get(f"/admin/catalog/sku/?o={index}"))[:2] == [
        "QB-12",
        "QB-11",
    ]


@pytest.mark.parametrize("role", ["superadmin", "support", "finance"])
def test_password_hashes_are_never_a_filter(client, role_user, role):
    client.force_login(role_user(role))
    assert (
        client.get("/admin/users/buyer/?password__startswith=pbkdf2").status_code == 400
    )


def test_supplier_keys_are_never_a_filter(client, role_user):
    Supplier.objects.create(
        name="某供货商", endpoint="https://supplier.example/api", merchant_id="m-1"
    )
    client.force_login(role_user("superadmin"))
    assert (
        client.get("/admin/catalog/supplier/?secret__startswith=g").status_code == 400
    )


@admin.display(description="band", ordering="cost_price")
def cost_band(sku):
    """A column that shows nothing of the cost but would order by it."""
    return "—"


@pytest.fixture
def cost_ordered_column(monkeypatch):
    sku_admin = admin.site.get_model_admin(Sku)
    monkeypatch.setattr(
        sku_admin, "get_list_display", lambda request: ["code", cost_band]
    )
    return sku_admin


@pytest.mark.parametrize("role", BLIND_ROLES)
def test_a_column_ordered_by_cost_is_neither_sortable_nor_ordered(
    client, role_user, role, cost_ordered_column
):
    cheap, dear = make_sku("QB-21", "1.00"), make_sku("QB-22", "9.00")
    user = role_user(role)
    request = RequestFactory().get("/admin/catalog/sku/")
    request.user = user
    assert cost_ordered_column.get_sortable_by(request) == ["code"]
    client.force_login(user)
    urls = ["/admin/catalog/sku/?o=1", "/admin/catalog/sku/?o=-1"]
    before = [row_codes(client.get(url)) for url in urls]
    Sku.objects.filter(pk=cheap.pk).update(cost_price=Decimal("9.00"))
    Sku.objects.filter(pk=dear.pk).update(cost_price=Decimal("1.00"))
    assert [row_codes(client.get(url)) for url in urls] == before
    assert before[0] == before[1]  # the direction asked for changes nothing


def test_finance_orders_by_a_column_ordered_by_cost(
    client, role_user, cost_ordered_column
):
    make_sku("QB-21", "9.00")
    make_sku("QB-22", "1.00")
    client.force_login(role_user("finance"))
    assert row_codes(client.get("/admin/catalog/sku/?o=1")) == ["QB-22", "QB-21"]
    assert row_codes(client.get("/admin/catalog/sku/?o=-1")) == ["QB-21", "QB-22"]


@pytest.fixture
def cost_searchable(monkeypatch):
    sku_admin = admin.site.get_model_admin(Sku)
    monkeypatch.setattr(sku_admin, "search_fields", ("code", "=cost_price"))
    return sku_admin


@pytest.mark.parametrize(("role", "found"), [("support", []), ("finance", ["QB-31"])])
def test_a_search_on_cost_finds_only_for_roles_that_see_cost(
    client, role_user, role, found, cost_searchable
):
    make_sku("QB-31", "9.31")
    client.force_login(role_user(role))
    assert row_codes(client.get("/admin/catalog/sku/?q=9.31")) == found


def guarded_lists():
    """(changelist URL, field, permission) of every registered admin whose model
    has a guarded field (a proxy's list included)."""
    for model, _model_admin in admin.site._registry.items():
        label = model._meta.concrete_model._meta.label_lower
        for (guarded_label, field), needed in GUARDED_FIELDS.items():
            if guarded_label == label:
                opts = model._meta
                url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
                yield url, field, needed


def test_every_guarded_field_has_a_list_to_guard():
    assert {field for _url, field, _needed in guarded_lists()} >= {
        "cost_price",
        "secret",
        "password",
        "lookup_password",
    }


@pytest.mark.parametrize("role", ["superadmin", "support", "marketing"])
def test_no_list_filters_on_a_field_hidden_from_the_visitor(client, role_user, role):
    user = role_user(role)
    client.force_login(user)
    wrong = []
    for url, field, needed in guarded_lists():
        if needed is not None and user.has_perm(needed):
            continue
        response = client.get(f"{url}?{field}__isnull=False")
        if response.status_code not in (400, 403):
            wrong.append(f"{url}?{field}__isnull=False: {response.status_code}")
    assert not wrong, "\n".join(wrong)
