"""Cost prices are visible only to roles with catalog.view_cost."""

from decimal import Decimal

import pytest

from catalog.models import Category, Product, Sku


@pytest.fixture
def sku(db):
    category = Category.objects.create(name="游戏点卡", slug="game")
    product = Product.objects.create(category=category, name="Q币", status="listed")
    return Sku.objects.create(
        product=product,
        code="QB-10",
        name="10 Q币",
        delivery_type=Sku.DeliveryType.CARD,
        stock_mode=Sku.StockMode.CODES,
        price=Decimal("9.80"),
        cost_price=Decimal("9.31"),
    )


@pytest.mark.parametrize(
    ("role", "sees_cost"),
    [
        ("superadmin", True),
        ("operations", True),
        ("finance", True),
        ("support", False),
        ("marketing", False),
    ],
)
@pytest.mark.parametrize(
    "url",
    [
        "/admin/catalog/sku/",
        "/admin/catalog/sku/{sku}/change/",
        "/admin/catalog/product/{product}/change/",
    ],
)
def test_cost_price_shown_only_with_view_cost(
    client, role_user, sku, role, sees_cost, url
):
    client.force_login(role_user(role))
    response = client.get(url.format(sku=sku.pk, product=sku.product_id))
    assert response.status_code == 200
    body = response.content.decode()
    assert ("9.31" in body) is sees_cost
    assert ('name="cost_price"' in body or "skus-0-cost_price" in body) is (
        sees_cost and role in ("superadmin", "operations") and "change" in url
    )


def _grant(user, *codenames):
    """Pricing read permissions, whatever the role table grants today: the point
    here is that catalog.view_cost alone decides what cost is shown."""
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="catalog", codename__in=codenames
        )
    )
    return user


ROLES_SEEING_COST = [
    ("superadmin", True),
    ("operations", True),
    ("finance", True),
    ("support", False),
    ("marketing", False),
]


@pytest.mark.parametrize(("role", "sees_cost"), ROLES_SEEING_COST)
def test_price_history_hides_cost_rows_without_view_cost(
    client, role_user, sku, role, sees_cost
):
    from catalog.models import PriceChange

    PriceChange.objects.create(
        sku=sku,
        layer="cost",
        old_price=Decimal("9.31"),
        new_price=Decimal("8.77"),
        cause="cost_change",
    )
    PriceChange.objects.create(
        sku=sku,
        layer="base",
        old_price=Decimal("9.80"),
        new_price=Decimal("9.60"),
        cause="manual",
    )
    client.force_login(_grant(role_user(role), "view_pricechange"))
    body = client.get("/admin/catalog/pricechange/").content.decode()
    assert "9.60" in body
    assert ("8.77" in body) is sees_cost
    cost_row = PriceChange.objects.get(layer="cost")
    response = client.get(f"/admin/catalog/pricechange/{cost_row.pk}/change/")
    assert (response.status_code == 200) is sees_cost


@pytest.mark.parametrize(("role", "sees_cost"), ROLES_SEEING_COST)
def test_cost_plus_rules_are_cost_information(client, role_user, sku, role, sees_cost):
    from catalog.models import CostPlusRule

    CostPlusRule.objects.create(sku=sku, margin_percent=Decimal("7.77"))
    client.force_login(_grant(role_user(role), "view_costplusrule"))
    body = client.get(f"/admin/catalog/sku/{sku.pk}/change/").content.decode()
    assert ("7.77" in body) is sees_cost
    assert ("cost_plus_rule-TOTAL_FORMS" in body) is sees_cost
    listing = client.get("/admin/catalog/costplusrule/")
    assert listing.status_code == (200 if sees_cost else 403)
