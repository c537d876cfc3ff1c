"""A guest buys a card through the sandbox payment gateway and sees the code; later,
without the session, finds the order again with number + contact + password.
On a desktop and on a phone."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from orders.models import Order
from tests.catalog.factories import make_category, make_product, make_sku
from tests.e2e.helpers import VIEWPORTS, screenshot
from tests.orders.factories import stock_codes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTACTS = {"desktop": "guest@example.com", "phone": "13800138000"}
LOOKUP_PASSWORD = "guest-2468"


@pytest.fixture(autouse=True)
def _fresh_lookup_limit():
    """The lookup's rate limit counts per client address in the cache: every run
    starts from zero attempts."""
    cache.clear()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_guest_pays_at_the_sandbox_gateway_and_finds_the_order_again(
    live_server, new_page, screenshot_dir, viewport
):
    product = make_product(name="网易一卡通", category=make_category("点卡"))
    sku = make_sku(product=product, name="¥30", price=Decimal("29.50"))
    codes = stock_codes(sku, 3, prefix="NETEASE")
    contact = CONTACTS[viewport]
    shots = screenshot_dir / viewport
    page, watcher = new_page(viewport)

    # Buy as a guest: contact, lookup password, the sandbox gateway.
    page.goto(live_server.url + "/shop/")
    page.get_by_role("link", name="网易一卡通").click()
    expect(page.get_by_test_id("quote")).to_contain_text("¥29.50")
    page.get_by_label("邮箱或手机号").fill(contact)
    page.get_by_label("查询密码").fill(LOOKUP_PASSWORD)
    page.get_by_label("沙箱支付网关").check()
    screenshot(page, f"{shots}-product.png")
    page.get_by_role("button", name="立即购买").click()

    # The sandbox gateway's page: the amount, then "pay".
    expect(page.get_by_test_id("sandbox-amount")).to_have_text("¥29.50")
    screenshot(page, f"{shots}-gateway.png")
    page.get_by_role("button", name="支付", exact=True).click()

    # Back in the shop: the notify has settled the order, the code is there.
    expect(page.get_by_test_id("order-status")).to_have_text("已发货")
    order = Order.objects.get()
    code = next(
        text for text in codes if text in page.get_by_test_id("codes").inner_text()
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text(order.order_no)
    screenshot(page, f"{shots}-order.png")
    watcher.assert_clean()

    # Later, on another browser (no session): the order page is not shown...
    page, watcher = new_page(viewport)
    page.goto(live_server.url + "/shop/")
    page.get_by_role("link", name="查询订单").click()
    expect(page.get_by_role("heading", name="查询订单")).to_be_visible()

    # ...a wrong password gets the one answer for every kind of miss...
    page.get_by_label("订单号").fill(order.order_no)
    page.get_by_label("邮箱或手机号").fill(contact)
    page.get_by_label("查询密码").fill("not-the-password")
    page.get_by_role("button", name="查询", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text(
        "没有与该订单号、联系方式和密码匹配的订单。"
    )
    expect(page.get_by_test_id("order")).to_have_count(0)
    screenshot(page, f"{shots}-lookup-miss.png")

    # ...and the right one shows the same order with its code.
    page.get_by_label("订单号").fill(order.order_no)
    page.get_by_label("邮箱或手机号").fill(contact)
    page.get_by_label("查询密码").fill(LOOKUP_PASSWORD)
    page.get_by_role("button", name="查询", exact=True).click()
    expect(page.get_by_test_id("order-status")).to_have_text("已发货")
    expect(page.get_by_role("heading", level=1)).to_contain_text(order.order_no)
    expect(page.get_by_test_id("codes")).to_have_text(code)
    screenshot(page, f"{shots}-lookup-found.png")
    watcher.assert_clean()
