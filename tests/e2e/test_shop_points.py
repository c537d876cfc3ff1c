"""A buyer checks in on 我的积分 and uses points at checkout: the quote shows
the points layer and the order is charged the rest, on a desktop and a phone."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from marketing.points import award_points
from tests.catalog.factories import make_category, make_product, make_sku
from tests.e2e.helpers import VIEWPORTS, screenshot
from tests.orders.factories import make_buyer, stock_codes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_buyer_checks_in_and_pays_part_of_an_order_with_points(
    live_server, new_page, screenshot_dir, viewport
):
    product = make_product(name="网易点卡", category=make_category("点卡"))
    sku = make_sku(product=product, name="¥10", price=Decimal("10.00"))
    stock_codes(sku, 2, prefix="NETEASE")
    buyer = make_buyer(Decimal("20.00"), password="x-test-password")
    award_points(buyer_id=buyer.pk, amount=1000, reference="e2e", note="测试")
    page, watcher = new_page(viewport)
    shots = screenshot_dir / viewport

    page.goto(live_server.url + "/shop/login/")
    page.get_by_label("用户名").fill(buyer.username)
    page.get_by_label("密码").fill("x-test-password")
    page.locator("main").get_by_role("button", name="登录").click()

    page.goto(live_server.url + "/shop/points/")
    expect(page.get_by_test_id("points-balance")).to_have_text("1000")
    page.get_by_test_id("checkin-button").click()
    expect(page.get_by_test_id("points-balance")).to_have_text("1005")
    expect(page.get_by_test_id("checkin")).to_contain_text("今天已签到")
    screenshot(page, f"{shots}-points.png")

    page.goto(live_server.url + f"/shop/p/{product.pk}/")
    expect(page.get_by_test_id("points-offer")).to_contain_text("最多可用 500 积分")
    page.get_by_label("使用积分").fill("300")
    expect(page.get_by_test_id("quote")).to_contain_text("积分抵扣")
    expect(page.get_by_test_id("quote")).to_contain_text("¥7.00")
    screenshot(page, f"{shots}-product-points.png")
    page.get_by_role("button", name="立即购买").click()

    expect(page.get_by_test_id("order-status")).to_have_text("已发货")
    page.goto(live_server.url + "/shop/wallet/")
    expect(page.get_by_test_id("balance")).to_have_text("¥13.00")
    page.goto(live_server.url + "/shop/points/")
    expect(page.get_by_test_id("points-balance")).to_have_text("712")
    watcher.assert_clean()
