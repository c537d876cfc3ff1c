"""A buyer sees a flash sale's countdown tick on the product page and buys at
the flash price, on a desktop and on a phone; an upcoming sale counts down to
its start."""

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from marketing.flash_sales import forget_sales
from marketing.models import FlashSale
from tests.catalog.factories import make_category, make_product, make_sku
from tests.e2e.helpers import VIEWPORTS, screenshot
from tests.marketing.flash_helpers import make_flash_sale
from tests.orders.factories import make_buyer, stock_codes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_buyer_sees_the_countdown_and_buys_at_the_flash_price(
    live_server, new_page, screenshot_dir, viewport
):
    forget_sales()
    product = make_product(name="王者荣耀点券", category=make_category("手游"))
    sku = make_sku(product=product, name="60 点券", price=Decimal("6.00"))
    codes = stock_codes(sku, 3, prefix="WZRY")
    make_flash_sale(sku, price=Decimal("3.90"), cap=2, per_buyer=1, title="午间秒杀")
    later = make_product(name="和平精英 UC", category=make_category("射击"))
    later_sku = make_sku(product=later, name="60 UC", price=Decimal("6.00"))
    make_flash_sale(later_sku, starts_in=timedelta(hours=3), title="晚间秒杀")
    buyer = make_buyer(Decimal("20.00"), password="x-test-password")
    page, watcher = new_page(viewport)
    shots = screenshot_dir / viewport

    page.goto(live_server.url + f"/shop/p/{later.pk}/")
    box = page.get_by_test_id("flash-countdown")
    expect(box).to_contain_text("距开始")
    expect(box.locator("[data-clock]")).to_contain_text("02:59:")
    screenshot(page, f"{shots}-flash-upcoming.png")

    page.goto(live_server.url + "/shop/login/")
    page.get_by_label("用户名").fill(buyer.username)
    page.get_by_label("密码").fill("x-test-password")
    page.locator("main").get_by_role("button", name="登录").click()
    page.goto(live_server.url + f"/shop/p/{product.pk}/")
    box = page.get_by_test_id("flash-countdown")
    expect(box).to_contain_text("距结束")
    first = box.locator("[data-clock]").inner_text()
    expect(box.locator("[data-clock]")).not_to_have_text(first)  # it ticks
    expect(page.get_by_test_id("flash-remaining")).to_have_text("2")
    expect(page.get_by_test_id("quote")).to_contain_text("¥3.90")
    screenshot(page, f"{shots}-flash-live.png")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]  # nothing wider than the phone
    page.get_by_role("button", name="立即购买").click()

    expect(page.get_by_test_id("order-status")).to_have_text("已发货")
    expect(page.get_by_test_id("codes")).to_contain_text(codes[0][:5])
    assert FlashSale.objects.get(sku=sku).sold == 1
    page.goto(live_server.url + f"/shop/p/{product.pk}/")
    expect(page.get_by_test_id("flash-remaining")).to_have_text("1")
    page.get_by_role("button", name="立即购买").click()
    expect(page.get_by_role("alert")).to_contain_text("每人限购 1 件")
    screenshot(page, f"{shots}-flash-limit.png")
    watcher.assert_clean()
