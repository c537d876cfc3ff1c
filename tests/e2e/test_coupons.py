"""Marketing creates a coupon template and issues it to a named buyer; the
buyer finds it preselected on the product page, pays less, and the order page
shows the coupon line. Desktop and phone."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.catalog.factories import make_category, make_product, make_sku
from tests.e2e.helpers import VIEWPORTS, pass_two_factor, screenshot
from tests.orders.factories import make_buyer, stock_codes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "x-test-password"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_marketing_issues_a_coupon_and_the_buyer_pays_less(
    live_server, new_page, screenshot_dir, role_user, viewport
):
    product = make_product(name="腾讯Q币卡", category=make_category("腾讯"))
    sku = make_sku(product=product, name="¥60", price=Decimal("60.00"))
    stock_codes(sku, 2, prefix="QB")
    buyer = make_buyer(Decimal("100.00"), password=PASSWORD)
    marketer = role_user("marketing")
    marketer.set_password(PASSWORD)
    marketer.save()
    page, watcher = new_page(viewport)
    shots = screenshot_dir / viewport

    page.goto(
        f"{live_server.url}/admin/login/?next=/admin/marketing/coupontemplate/add/"
    )
    page.get_by_label("用户名").fill(marketer.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    pass_two_factor(page, marketer.username)
    page.locator("input[name=name]").fill("满50减10")
    page.locator("select[name=kind]").select_option("amount_off")
    page.locator("input[name=amount]").fill("10")
    page.locator("input[name=threshold]").fill("50")
    page.locator("input[name=valid_days]").fill("30")
    screenshot(page, f"{shots}-template.png")
    page.locator("[name=_save]").first.click()
    expect(page.get_by_role("link", name="发放给买家")).to_be_visible()
    page.get_by_role("link", name="发放给买家").click()
    page.locator("textarea[name=buyers]").fill(buyer.username)
    page.get_by_test_id("coupon-issue-submit").click()
    expect(page.locator("body")).to_contain_text("已发放 1 张")
    screenshot(page, f"{shots}-issued.png")

    shop = page.context.browser.new_context(**VIEWPORTS[viewport]).new_page()
    shop.goto(live_server.url + "/shop/login/")
    shop.get_by_label("用户名").fill(buyer.username)
    shop.get_by_label("密码").fill(PASSWORD)
    shop.locator("main").get_by_role("button", name="登录").click()
    shop.goto(f"{live_server.url}/shop/p/{product.pk}/")
    expect(shop.get_by_test_id("coupon-select")).to_contain_text("满50减10")
    expect(shop.get_by_test_id("quote-coupon")).to_contain_text("−¥10.00")
    expect(shop.get_by_test_id("quote")).to_contain_text("¥50.00")
    screenshot(shop, f"{shots}-product.png")
    shop.get_by_role("button", name="立即购买").click()
    expect(shop.get_by_test_id("order-layer-coupon")).to_contain_text("10.00")
    expect(shop.get_by_test_id("order")).to_contain_text("¥50.00")
    screenshot(shop, f"{shots}-order.png")
    shop.goto(live_server.url + "/shop/coupons/?tab=used")
    expect(shop.get_by_test_id("coupon-list")).to_contain_text("满50减10")
    watcher.assert_clean()
