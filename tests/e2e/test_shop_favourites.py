"""A buyer searches the shop, hearts a product and finds it under 我的收藏, on a
desktop and on a phone; the back office sees the search, the view and the
favourite."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.catalog.factories import make_category, make_product, make_sku
from tests.e2e.helpers import VIEWPORTS, screenshot
from tests.orders.factories import make_buyer
from users.models import Favourite, LoginEvent, ProductView, ShopSearch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_buyer_searches_hearts_and_finds_a_favourite(
    live_server, new_page, screenshot_dir, viewport
):
    product = make_product(name="Steam 钱包充值卡", category=make_category("Steam"))
    make_sku(product=product, name="¥50", price=Decimal("49.00"))
    make_product(name="网易一卡通", category=make_category("网易"))
    buyer = make_buyer(password="x-test-password")
    page, watcher = new_page(viewport)
    shots = screenshot_dir / viewport

    page.goto(live_server.url + "/shop/login/")
    page.get_by_label("用户名").fill(buyer.username)
    page.get_by_label("密码").fill("x-test-password")
    page.locator("main").get_by_role("button", name="登录").click()

    page.get_by_role("searchbox", name="搜索商品").fill("Steam")
    page.get_by_role("button", name="搜索", exact=True).click()
    expect(page.get_by_test_id("products")).to_contain_text("Steam 钱包充值卡")
    expect(page.get_by_test_id("products")).not_to_contain_text("网易一卡通")
    screenshot(page, f"{shots}-search.png")

    page.get_by_role("link", name="Steam 钱包充值卡").click()
    page.get_by_test_id("favourite").click()
    expect(page.get_by_test_id("favourite")).to_have_attribute("aria-pressed", "true")
    screenshot(page, f"{shots}-hearted.png")
    page.get_by_role("link", name="我的收藏").click()
    expect(page.get_by_test_id("favourites")).to_contain_text("Steam 钱包充值卡")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[viewport]["viewport"]["width"]
    screenshot(page, f"{shots}-favourites.png")
    watcher.assert_clean()

    assert list(ShopSearch.objects.values_list("query", flat=True)) == ["Steam"]
    assert ProductView.objects.filter(user=buyer, product_id=product.pk).count() == 2
    assert Favourite.objects.filter(user=buyer, product_id=product.pk).exists()
    assert LoginEvent.objects.filter(user=buyer, success=True, area="shop").exists()
