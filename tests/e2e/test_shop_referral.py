"""A buyer opens 邀请有礼, copies their link; a friend opens it in another
browser and signs up; the buyer sees the friend, masked, under review (both
came from the same address here: the abuse check holds it). Desktop and phone."""

import pytest
from playwright.sync_api import expect

from marketing.models import Referral
from tests.e2e.helpers import VIEWPORTS, screenshot
from tests.orders.factories import make_buyer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "x-test-password"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_buyer_shares_the_invite_link_and_sees_the_friend(
    live_server, new_page, screenshot_dir, viewport
):
    inviter = make_buyer(password=PASSWORD)
    page, watcher = new_page(viewport)
    # as a browser asks the buyer once: without it headless Chromium may
    # leave the copy's promise unsettled when the page is not focused
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=live_server.url
    )
    shots = screenshot_dir / viewport

    page.goto(live_server.url + "/shop/login/")
    page.get_by_label("用户名").fill(inviter.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    page.get_by_role("link", name="邀请有礼").click()
    link = page.get_by_test_id("invite-link").input_value()
    assert "/shop/i/" in link
    page.get_by_test_id("invite-copy").click()
    expect(page.get_by_test_id("invite-copy")).to_have_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == link
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[viewport]["viewport"]["width"]
    screenshot(page, f"{shots}-invite.png")

    friend, friend_watcher = new_page(viewport)
    friend.goto(link)
    expect(friend.get_by_test_id("invite-banner")).to_be_visible()
    friend.locator("input[name=username]").fill(f"friend{viewport}")
    friend.locator("input[name=email]").fill(f"friend-{viewport}@example.com")
    friend.locator("input[name=password1]").fill("Kameng-pass-2026!")
    friend.locator("input[name=password2]").fill("Kameng-pass-2026!")
    friend.locator("main").get_by_role("button", name="注册").click()
    expect(friend.locator(".messages")).to_contain_text("欢迎")
    friend_watcher.assert_clean()

    page.reload()
    row = page.get_by_test_id("invite-friend")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("审核中")
    expect(row).not_to_contain_text(f"friend{viewport}")
    screenshot(page, f"{shots}-friends.png")
    watcher.assert_clean()
    referral = Referral.objects.get(inviter=inviter)
    assert referral.review == Referral.Review.HELD
    assert "same_ip" in referral.reasons
