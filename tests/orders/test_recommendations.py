"""Recommendations in the shop: bought together (counted nightly over paid
orders), recently viewed, and what a would-be buyer sees on the shop pages."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Product
from marketing.models import PromotedProduct
from orders.models import CoPurchase, Order
from orders.recommendations import compute_co_purchases, recommendations_for
from orders.tasks import compute_co_purchases_task
from tests.analytics.factories import sold
from tests.catalog.factories import make_category, make_product, make_sku
from tests.orders.factories import make_buyer
from users.models import ProductView

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    """Four products on sale, one SKU each."""
    category = make_category("游戏点卡")
    return {
        name: make_sku(product=make_product(name=name, category=category))
        for name in ("王者荣耀点券", "Q币直充", "网易一卡通", "爱奇艺月卡")
    }


def pairs() -> dict[tuple[str, str], int]:
    names = dict(Product.objects.values_list("pk", "name"))
    return {
        (names[p.product_id], names[p.other_id]): p.buyers
        for p in CoPurchase.objects.all()
    }


def test_bought_together_counts_buyers_of_both_over_paid_orders(shop, settings):
    settings.RECOMMENDATION_MIN_BUYERS = 2
    now = timezone.now()
    first, second, third, fourth = (make_buyer() for _ in range(4))
    for buyer in (first, second):
        sold(sku=shop["王者荣耀点券"], buyer=buyer, paid_at=now)
        sold(sku=shop["Q币直充"], buyer=buyer, paid_at=now)
    sold(sku=shop["王者荣耀点券"], buyer=first, paid_at=now)  # twice: still one buyer
    sold(sku=shop["网易一卡通"], buyer=first, paid_at=now)
    # third bought 网易一卡通 too, but it was refunded in full: not a purchase
    sold(sku=shop["王者荣耀点券"], buyer=third, paid_at=now)
    sold(
        sku=shop["网易一卡通"],
        buyer=third,
        paid_at=now,
        status=Order.Status.REFUNDED,
        refunded=shop["网易一卡通"].price,
    )
    # fourth's 爱奇艺 order was never paid, and his 网易 one is too old
    sold(sku=shop["王者荣耀点券"], buyer=fourth, paid_at=now)
    Order.objects.create(
        order_no="U1",
        buyer=fourth,
        sku=shop["爱奇艺月卡"],
        quantity=1,
        unit_price=1,
        amount=1,
    )
    sold(sku=shop["网易一卡通"], buyer=fourth, paid_at=now - timedelta(days=400))

    assert compute_co_purchases(now=now) == 2
    assert pairs() == {("王者荣耀点券", "Q币直充"): 2, ("Q币直充", "王者荣耀点券"): 2}

    settings.RECOMMENDATION_MIN_BUYERS = 1
    compute_co_purchases_task.delay()  # the nightly beat entry: a full rebuild
    assert pairs() == {
        ("王者荣耀点券", "Q币直充"): 2,
        ("Q币直充", "王者荣耀点券"): 2,
        ("王者荣耀点券", "网易一卡通"): 1,
        ("网易一卡通", "王者荣耀点券"): 1,
        ("Q币直充", "网易一卡通"): 1,
        ("网易一卡通", "Q币直充"): 1,
    }


def test_each_product_keeps_only_its_strongest_pairs(shop, settings):
    settings.RECOMMENDATION_MIN_BUYERS = 1
    settings.RECOMMENDATION_PAIRS_KEPT = 1
    now = timezone.now()
    for index in range(3):
        buyer = make_buyer()
        sold(sku=shop["王者荣耀点券"], buyer=buyer, paid_at=now)
        sold(sku=shop["Q币直充"], buyer=buyer, paid_at=now)
        if index == 0:
            sold(sku=shop["网易一卡通"], buyer=buyer, paid_at=now)
    compute_co_purchases(now=now)
    kept = pairs()
    assert kept[("王者荣耀点券", "Q币直充")] == 3
    assert ("王者荣耀点券", "网易一卡通") not in kept
    assert kept[("网易一卡通", "王者荣耀点券")] == 1  # its strongest (tie: lower id)
    assert len([pair for pair in kept if pair[0] == "网易一卡通"]) == 1


@pytest.fixture
def bought_together(shop, settings):
    """Two buyers bought 王者荣耀点券 with Q币直充; the counts are computed."""
    settings.RECOMMENDATION_MIN_BUYERS = 2
    for _ in range(2):
        buyer = make_buyer()
        sold(sku=shop["王者荣耀点券"], buyer=buyer, paid_at=timezone.now())
        sold(sku=shop["Q币直充"], buyer=buyer, paid_at=timezone.now())
    compute_co_purchases()
    return shop


def test_a_would_be_buyer_is_shown_what_they_viewed_and_what_goes_with_it(
    client, bought_together
):
    shop = bought_together
    buyer = make_buyer()  # signed up, never bought
    client.force_login(buyer)
    viewed = shop["王者荣耀点券"].product
    page = client.get(f"/shop/p/{viewed.pk}/")
    together = page.context["recommendations"].bought_together
    assert [p.name for p in together] == ["Q币直充"]
    assert 'data-testid="rec-together"' in page.content.decode()

    client.get(f"/shop/p/{shop['网易一卡通'].product_id}/")
    home = client.get("/shop/")
    recommendations = home.context["recommendations"]
    assert [p.name for p in recommendations.recently_viewed] == [
        "网易一卡通",
        "王者荣耀点券",
    ]
    assert [p.name for p in recommendations.bought_together] == ["Q币直充"]
    html = home.content.decode()
    assert 'data-testid="rec-viewed"' in html and "¥9.80" in html


def test_a_guest_sees_what_is_bought_together_and_no_trail(client, bought_together):
    product = bought_together["Q币直充"].product
    recommendations = client.get(f"/shop/p/{product.pk}/").context["recommendations"]
    assert [p.name for p in recommendations.bought_together] == ["王者荣耀点券"]
    assert recommendations.recently_viewed == []
    assert not client.get("/shop/").context["recommendations"]


def test_unlisted_products_are_not_recommended(client, bought_together):
    Product.objects.filter(name="Q币直充").update(status=Product.Status.UNLISTED)
    product = bought_together["王者荣耀点券"].product
    page = client.get(f"/shop/p/{product.pk}/")
    assert not page.context["recommendations"]
    assert 'data-testid="recommendations"' not in page.content.decode()


def test_the_shop_works_without_recommendations(client, shop, monkeypatch):
    buyer = make_buyer()
    client.force_login(buyer)
    product = shop["Q币直充"].product
    empty = client.get(f"/shop/p/{product.pk}/")
    assert empty.status_code == 200
    assert 'data-testid="recommendations"' not in empty.content.decode()

    def broken(**kwargs):
        raise DatabaseError("recommendation tables unreadable")

    monkeypatch.setattr("orders.recommendations.read_recommendations", broken)
    for url in ("/shop/", f"/shop/p/{product.pk}/"):
        page = client.get(url)
        assert page.status_code == 200
        assert "Q币直充" in page.content.decode()
        assert not page.context["recommendations"]


def test_reading_recommendations_costs_the_same_queries_for_any_history(
    bought_together,
):
    shop = bought_together
    buyer = make_buyer()
    product = shop["王者荣耀点券"].product

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            recommendations_for(user=buyer, product_id=product.pk)
            recommendations_for(user=buyer)
        return len(captured)

    ProductView.objects.create(user=buyer, product_id=product.pk)
    few = queries()
    extra = [make_product(name=f"商品{n}") for n in range(8)]
    for item in extra:
        make_sku(product=item)
        ProductView.objects.create(user=buyer, product_id=item.pk)
        CoPurchase.objects.create(
            product=product, other=item, buyers=5, computed_at=timezone.now()
        )
    assert queries() == few
    assert len(recommendations_for(user=buyer).recently_viewed) == 6


def test_products_a_strategy_promoted_are_picked_for_the_buyer(client, shop):
    buyer = make_buyer()
    today = timezone.localdate()
    for name, expires in (
        ("爱奇艺月卡", today),
        ("网易一卡通", today - timedelta(days=1)),
    ):
        PromotedProduct.objects.create(
            user=buyer,
            product=shop[name].product,
            promoted_on=today - timedelta(days=3),
            expires_on=expires,
        )
    client.force_login(buyer)
    home = client.get("/shop/")
    assert [p.name for p in home.context["recommendations"].promoted] == ["爱奇艺月卡"]
    assert 'data-testid="rec-promoted"' in home.content.decode()
    other = make_buyer()
    assert not recommendations_for(user=other).promoted
