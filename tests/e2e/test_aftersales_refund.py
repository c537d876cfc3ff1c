"""Finance refunds part of a delivered order with a reason, after a confirmation
that says what will happen; the buyer reads the reason on the order. Support sees
no refund on the same order page. On a desktop and on a phone."""

import pytest
from playwright.sync_api import Page, expect

from orders.models import Order
from tests.e2e.helpers import VIEWPORTS, pass_two_factor, screenshot
from tests.orders.aftersales_helpers import delivered_card_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "x-test-password"


def admin_login(page: Page, url: str, username: str) -> None:
    page.goto(url + "/admin/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    pass_two_factor(page, username)  # finance: the authenticator code
    expect(page.get_by_test_id("dashboard")).to_be_visible()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_finance_refunds_with_a_reason_and_the_buyer_reads_it(
    live_server, new_page, role_user, screenshot_dir, viewport
):
    order = delivered_card_order()  # 2 codes, ¥100.00
    shots = screenshot_dir / viewport

    support_page, support_watch = new_page(viewport)
    admin_login(support_page, live_server.url, role_user("support").username)
    support_page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
    expect(support_page.get_by_text(order.order_no).first).to_be_visible()
    expect(support_page.get_by_test_id("refund-link")).to_have_count(0)
    support_watch.assert_clean()

    page, watcher = new_page(viewport)
    admin_login(page, live_server.url, role_user("finance").username)
    page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
    page.get_by_test_id("refund-link").click()
    page.get_by_label("退款金额").fill("40.00")
    page.get_by_label("原因").fill("一张卡密经核实无效")
    page.get_by_label("我已核实已发卡密无效：将其作废").check()
    screenshot(page, f"{shots}-1-refund-form.png")
    page.get_by_role("button", name="下一步").click()

    plan = page.get_by_test_id("refund-plan")
    expect(plan).to_contain_text("¥40.00 退回买家钱包余额")
    expect(plan).to_contain_text("部分退款")
    expect(plan).to_contain_text("原因：一张卡密经核实无效")
    expect(plan).to_contain_text("已发的 2 张卡密将作废")
    screenshot(page, f"{shots}-2-refund-confirm.png")
    page.get_by_role("button", name="立即退款").click()
    expect(page.get_by_text("已退款 ¥40.00 至买家钱包。")).to_be_visible()
    screenshot(page, f"{shots}-3-order-after-refund.png")
    watcher.assert_clean()

    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED

    buyer_page, buyer_watch = new_page(viewport)
    buyer_page.goto(live_server.url + "/shop/login/")
    buyer_page.get_by_label("用户名").fill(order.buyer.username)
    buyer_page.get_by_label("密码").fill(PASSWORD)
    buyer_page.locator("main").get_by_role("button", name="登录").click()
    buyer_page.goto(f"{live_server.url}/shop/orders/{order.order_no}/")
    expect(buyer_page.get_by_test_id("refunds")).to_contain_text(
        "已退款 ¥40.00 至您的钱包"
    )
    expect(buyer_page.get_by_test_id("refunds")).to_contain_text(
        "原因：一张卡密经核实无效"
    )
    screenshot(buyer_page, f"{shots}-4-buyer-order.png")
    buyer_watch.assert_clean()
