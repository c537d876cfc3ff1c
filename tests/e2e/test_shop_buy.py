"""A buyer buys a card with wallet balance in the storefront and sees the code,
on a desktop and on a phone."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.catalog.factories import make_category, make_product, make_sku
from tests.e2e.helpers import VIEWPORTS, screenshot
from tests.orders.factories import make_buyer, stock_codes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_buyer_buys_a_card_with_balance_and_sees_the_code(
    live_server, new_page, screenshot_dir, viewport
):
    product = make_product(name="Steam 钱包充值卡", category=make_category("Steam"))
    sku = make_sku(product=product, name="¥50", price=Decimal("49.00"))
    codes = stock_codes(sku, 2, prefix="STEAM")
    buyer = make_buyer(Decimal("100.00"), password="x-test-password")
    page, watcher = new_page(viewport)
    shots = screenshot_dir / viewport

    page.goto(live_server.url + "/shop/login/")
    page.get_by_label("用户名").fill(buyer.username)
    page.get_by_label("密码").fill("x-test-password")
    page.locator("main").get_by_role("button", name="登录").click()

    page.get_by_role("link", name="Steam 钱包充值卡").click()
    expect(page.get_by_test_id("quote")).to_contain_text("¥49.00")
    page.get_by_label("数量").fill("2")
    expect(page.get_by_test_id("quote")).to_contain_text("¥98.00")
    screenshot(page, f"{shots}-product.png")
    page.get_by_role("button", name="立即购买").click()

    expect(page.get_by_test_id("order-status")).to_have_text("已发货")
    expect(page.get_by_test_id("codes")).to_contain_text(codes[0])
    expect(page.get_by_test_id("codes")).to_contain_text(codes[1])
    screenshot(page, f"{shots}-order.png")
    page.get_by_role("link", name="钱包").click()
    expect(page.get_by_test_id("balance")).to_have_text("¥2.00")
    watcher.assert_clean()
