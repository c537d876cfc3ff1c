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
