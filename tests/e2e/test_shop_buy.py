"""A buyer buys a card with wallet balance in the storefront and sees the code,
on a desktop and on a phone."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.catalog.factories import make_category, make_product, make_sku
from tests.e2e.helpers import VIEWPORTS, screenshot
from tests.orders.factories import make_buyer, stock_codes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_product_logged_in(page, url: str, buyer, product_name: str) -> None:
    """Log in to the shop, click through to the product and wait for the page
    to load: htmx is then set up (it hears the quantity, it sends the buy)."""
    page.goto(url + "/shop/login/")
    page.get_by_label("用户名").fill(buyer.username)
    page.get_by_label("密码").fill("x-test-password")
    page.locator("main").get_by_role("button", name="登录").click()
    page.get_by_role("link", name=product_name).click()
    page.wait_for_load_state()


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

    open_product_logged_in(page, live_server.url, buyer, "Steam 钱包充值卡")
    expect(page.get_by_test_id("quote")).to_contain_text("¥49.00")
    page.get_by_label("数量").fill("2")
    expect(page.get_by_test_id("quote")).to_contain_text("¥98.00")
    screenshot(page, f"{shots}-product.png")
    page.evaluate("window.beforeBuying = true")  # gone if the page reloads
    page.get_by_role("button", name="立即购买").click()

    expect(page.get_by_test_id("order-status")).to_have_text("已发货")
    expect(page.get_by_test_id("codes")).to_contain_text(codes[0])
    expect(page.get_by_test_id("codes")).to_contain_text(codes[1])
    screenshot(page, f"{shots}-order.png")
    # The page came back with the purchase (htmx: this document, not a new
    # one) and stands at the order's own address: a reload shows the order
    # again and buys nothing twice.
    assert page.evaluate("window.beforeBuying") is True
    order = Order.objects.get(buyer=buyer)
    expect(page).to_have_url(f"{live_server.url}/shop/orders/{order.order_no}/")
    expect(page).to_have_title(f"订单 {order.order_no}")
    page.reload()
    expect(page.get_by_test_id("codes")).to_contain_text(codes[1])
    page.get_by_role("link", name="钱包").click()
    expect(page.get_by_test_id("balance")).to_have_text("¥2.00")
    assert Order.objects.filter(buyer=buyer).count() == 1
    watcher.assert_clean()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_purchase_the_shop_refuses_shows_why_instead_of_nothing(
    live_server, new_page, viewport
):
    """A purchase answered with an error page (here: the form's CSRF token no
    longer matches, as after logging in again in another tab) shows that page;
    nothing is bought."""
    product = make_product(name="网易一卡通", category=make_category("网易"))
    sku = make_sku(product=product, name="¥30", price=Decimal("30.00"))
    stock_codes(sku, 1, prefix="NETEASE")
    buyer = make_buyer(Decimal("100.00"), password="x-test-password")
    page, _watcher = new_page(viewport)  # the 403 is what this test is about

    open_product_logged_in(page, live_server.url, buyer, "网易一卡通")
    page.locator("form.checkout input[name=csrfmiddlewaretoken]").evaluate(
        "input => { input.value = 'x'.repeat(64); }"
    )
    page.evaluate("window.beforeBuying = true")
    page.get_by_role("button", name="立即购买").click()

    expect(page.get_by_text("CSRF验证失败")).to_be_visible()
    assert page.evaluate("window.beforeBuying") is True  # shown by htmx
    assert not Order.objects.exists()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_purchase_whose_answer_never_came_tells_the_buyer_where_to_look(
    live_server, new_page, viewport
):
    """The connection drops after "buy": the shop may or may not have sold. The
    form says so and points to My orders, rather than looking as if nothing
    happened."""
    product = make_product(name="骏网一卡通", category=make_category("骏网"))
    sku = make_sku(product=product, name="¥10", price=Decimal("10.00"))
    stock_codes(sku, 1, prefix="JUNNET")
    buyer = make_buyer(Decimal("100.00"), password="x-test-password")
    page, _watcher = new_page(viewport)  # the aborted request is the point

    open_product_logged_in(page, live_server.url, buyer, "骏网一卡通")
    notice = page.get_by_role("alert").filter(has_text="我的订单")
    expect(notice).to_be_hidden()
    page.route(
        "**/shop/p/**",
        lambda route: (
            route.abort("connectionreset")
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    page.get_by_role("button", name="立即购买").click()

    expect(notice).to_be_visible()
    expect(page.get_by_role("button", name="立即购买")).to_be_enabled()
