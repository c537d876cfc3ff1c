"""A buyer asks for after-sales help from an order, with a screenshot; support
answers from the back office; the buyer reads the answer and replies. On a desktop
and on a phone."""

import io

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from orders.models import Ticket
from tests.e2e.helpers import VIEWPORTS, screenshot
from tests.orders.aftersales_helpers import delivered_card_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "x-test-password"


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Uploaded images land in a temporary folder, not the developer's var/."""
    settings.MEDIA_ROOT = tmp_path


def png_bytes() -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (60, 40), "orange").save(data, "PNG")
    return data.getvalue()


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
    expect(page.get_by_test_id("dashboard")).to_be_visible()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_buyer_opens_a_ticket_and_support_answers(
    live_server, new_page, role_user, screenshot_dir, viewport
):
    order = delivered_card_order()
    support = role_user("support")
    shots = screenshot_dir / viewport
    buyer_page, buyer_watch = new_page(viewport)

    shop_login(buyer_page, live_server.url, order.buyer.username)
    buyer_page.goto(f"{live_server.url}/shop/orders/{order.order_no}/")
    buyer_page.get_by_test_id("ask-after-sales").click()
    buyer_page.get_by_label("补发").check()
    buyer_page.get_by_label("问题描述").fill("第二张卡密提示已被使用，请补发。")
    buyer_page.get_by_label("图片（可选）").set_input_files(
        {"name": "used.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    screenshot(buyer_page, f"{shots}-1-buyer-form.png")
    buyer_page.get_by_role("button", name="提交给客服").click()

    expect(buyer_page.get_by_test_id("ticket-status")).to_have_text("待处理")
    expect(buyer_page.get_by_test_id("ticket-explain")).to_contain_text(
        "已收到您的申请"
    )
    expect(buyer_page.get_by_test_id("thread")).to_contain_text(
        "第二张卡密提示已被使用"
    )
    expect(buyer_page.get_by_role("link", name="附图")).to_be_visible()
    screenshot(buyer_page, f"{shots}-2-buyer-ticket.png")
    ticket = Ticket.objects.get()

    staff_page, staff_watch = new_page(viewport)
    admin_login(staff_page, live_server.url, support.username)
    staff_page.goto(f"{live_server.url}/admin/orders/ticket/")
    staff_page.get_by_role("link", name=str(ticket.pk), exact=True).click()
    staff_page.get_by_test_id("reply-link").click()
    expect(staff_page.get_by_test_id("thread")).to_contain_text(
        "第二张卡密提示已被使用"
    )
    staff_page.get_by_label("内容").fill("已核实，请提供充值截图以便补发。")
    staff_page.get_by_label("回复后工单状态").select_option("pending")
    screenshot(staff_page, f"{shots}-3-support-reply.png")
    staff_page.get_by_role("button", name="发送回复").click()
    expect(staff_page.get_by_text("回复已发送。")).to_be_visible()
    screenshot(staff_page, f"{shots}-4-support-ticket.png")

    buyer_page.reload()
    expect(buyer_page.get_by_test_id("ticket-status")).to_have_text("等待买家回复")
    expect(buyer_page.get_by_test_id("ticket-explain")).to_contain_text(
        "客服正在等待您的答复"
    )
    expect(buyer_page.get_by_test_id("thread")).to_contain_text("请提供充值截图")
    buyer_page.get_by_label("您的回复").fill("截图已补充在上面。")
    buyer_page.get_by_role("button", name="发送回复").click()
    expect(buyer_page.get_by_test_id("ticket-status")).to_have_text("处理中")
    screenshot(buyer_page, f"{shots}-5-buyer-replied.png")

    buyer_page.get_by_role("link", name="我的工单").click()
    expect(buyer_page.get_by_test_id("tickets")).to_contain_text("补发")
    buyer_watch.assert_clean()
    staff_watch.assert_clean()
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
