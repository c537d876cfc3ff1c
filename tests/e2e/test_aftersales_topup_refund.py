"""A buyer's top-up fails (the supplier said it went through, the phone never got
the credit); the buyer opens a ticket; support answers with a suggested canned
reply in one click and is refused the refund; finance asks for the refund and a
second person in finance approves it; the buyer sees the money back. On a
desktop and on a phone.

Already covered elsewhere: a ticket with an image and the buyer's reply
(test_aftersales_ticket.py), a partial refund of card codes with its
confirmation (test_aftersales_refund.py)."""

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from orders.models import CannedReply, Order, RefundRequest, Ticket
from orders.rules import create_default_rules
from tests.e2e.helpers import VIEWPORTS, pass_two_factor, screenshot
from tests.orders.support_helpers import PASSWORD, delivered_topup_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
QUESTION = "话费充值显示成功，但过了两个小时还没到账，运营商也没有短信，请退款。"


@pytest.fixture(autouse=True)
def no_supplier_step(monkeypatch):
    """The top-up's supplier step is settled by staff in this story, not run."""
    monkeypatch.setattr("orders.signals.queue_fulfilment_step", lambda **kwargs: None)


@pytest.fixture
def canned_replies():
    create_default_rules()  # a transactional test flushed migration 0009's rows
    CannedReply.objects.create(
        title="充值未到账",
        keywords="没到账 未到账 到账慢 话费 充值 运营商",
        body="{买家} 您好，订单 {订单号}（{商品}）的充值我们已联系供货商核实，"
        "确认未到账，财务将为您退款到钱包余额。",
    )
    CannedReply.objects.create(
        title="发票申请",
        keywords="发票 开票 报销",
        body="{买家} 您好，发票三日内开出。",
    )
    CannedReply.objects.create(
        title="卡密使用方法", keywords="卡密 兑换 激活", body="请在兑换页面输入卡密。"
    )


def shop_login(page: Page, url: str, username: str) -> None:
    page.goto(url + "/shop/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()


def admin_login(page: Page, url: str, username: str) -> None:
    page.goto(url + "/admin/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    pass_two_factor(page, username)  # finance needs its second step
    expect(page.get_by_test_id("dashboard")).to_be_visible()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_failed_top_up_is_answered_and_refunded_after_approval(
    live_server, new_page, role_user, screenshot_dir, viewport, canned_replies
):
    order = delivered_topup_order(role_user("operations"), price=Decimal("300.00"))
    support = role_user("support")
    asker = role_user("finance")
    approver = role_user("finance", "finance-approver")
    shots = screenshot_dir / viewport
    url = live_server.url

    # The buyer asks for a refund from the order page.
    buyer_page, buyer_watch = new_page(viewport)
    shop_login(buyer_page, url, order.buyer.username)
    buyer_page.goto(f"{url}/shop/orders/{order.order_no}/")
    buyer_page.get_by_test_id("ask-after-sales").click()
    buyer_page.get_by_label("退款").check()
    buyer_page.get_by_label("问题描述").fill(QUESTION)
    buyer_page.get_by_role("button", name="提交给客服").click()
    expect(buyer_page.get_by_test_id("ticket-rule")).to_contain_text(
        "充值失败或未到账的订单，经核实后退回您的钱包余额"
    )
    screenshot(buyer_page, f"{shots}-1-buyer-ticket.png")
    ticket = Ticket.objects.get(order=order)

    # Support answers with the suggested reply, in one click.
    staff, staff_watch = new_page(viewport)
    admin_login(staff, url, support.username)
    staff.goto(f"{url}/admin/orders/ticket-reply/{ticket.pk}/")
    suggested = staff.get_by_test_id("suggested-replies")
    expect(suggested.get_by_test_id("use-reply").first).to_have_text("充值未到账")
    expect(staff.get_by_test_id("ticket-actions")).to_contain_text("退款：由财务办理")
    expect(staff.get_by_test_id("action-refund")).to_have_count(0)
    screenshot(staff, f"{shots}-2-support-suggestions.png")
    suggested.get_by_test_id("use-reply").first.click()
    box = staff.get_by_label("内容")
    expect(box).to_have_value(
        f"{order.buyer.username} 您好，订单 {order.order_no}"
        f"（{order.sku.product.name} {order.sku.name}）的充值我们已联系供货商核实，"
        "确认未到账，财务将为您退款到钱包余额。"
    )
    staff.get_by_role("button", name="发送回复").click()
    expect(staff.get_by_text("回复已发送。")).to_be_visible()
    staff_watch.assert_clean()
    assert ticket.canned_uses.get().reply.title == "充值未到账"

    # Support is refused the refund itself.
    refused, refused_watch = new_page(viewport)
    admin_login(refused, url, support.username)
    refund_url = f"{url}/admin/orders/refund/{order.pk}/"
    response = refused.goto(refund_url)
    assert response.status == 403
    expect(refused.get_by_test_id("error-page")).to_be_visible()
    screenshot(refused, f"{shots}-3-support-refused.png")
    # The one problem on that page is the refusal itself (and the console's
    # note of it).
    assert refused_watch.problems
    assert all("403" in p and refund_url in p for p in refused_watch.problems)

    # Finance asks for the refund; above the threshold it waits for approval.
    money, money_watch = new_page(viewport)
    admin_login(money, url, asker.username)
    money.goto(f"{url}/admin/orders/order/{order.pk}/change/")
    money.get_by_test_id("refund-link").click()
    money.get_by_label("退款金额").fill("300.00")
    money.get_by_label("原因").fill("供货商核实：话费未充入，全额退款")
    money.get_by_role("button", name="下一步").click()
    expect(money.get_by_test_id("refund-plan")).to_contain_text("¥300.00")
    money.get_by_role("button", name="提交审批").click()
    expect(money.get_by_text("¥300.00 的退款正在等待另一位同事审批。")).to_be_visible()
    money_watch.assert_clean()
    refund = RefundRequest.objects.get(order=order)
    assert refund.status == RefundRequest.Status.PENDING

    # A second person in finance approves it.
    second, second_watch = new_page(viewport)
    admin_login(second, url, approver.username)
    second.goto(f"{url}/admin/orders/order/{order.pk}/change/")
    second.get_by_test_id("decide-refund").first.click()
    second.get_by_label("批准：立即退款至买家钱包").check()
    screenshot(second, f"{shots}-4-finance-approves.png")
    second.get_by_role("button", name="确认审批").click()
    expect(second.get_by_text("已退款 ¥300.00 至买家钱包。")).to_be_visible()
    second_watch.assert_clean()
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED

    # The buyer reads the answer and sees the money back.
    buyer_page.reload()
    expect(buyer_page.get_by_test_id("thread")).to_contain_text("财务将为您退款")
    buyer_page.goto(f"{url}/shop/orders/{order.order_no}/")
    expect(buyer_page.get_by_test_id("refunds")).to_contain_text(
        "已退款 ¥300.00 至您的钱包"
    )
    screenshot(buyer_page, f"{shots}-5-buyer-refunded.png")
    buyer_watch.assert_clean()
