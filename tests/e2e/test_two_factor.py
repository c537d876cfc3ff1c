"""Browser journeys through two-factor and the login history (desktop and phone):
finance sets up the authenticator on the first login (QR code, first code,
recovery codes), logs in again with a code after the password, and reads their
logins on their account page; a buyer reads theirs in the shop."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import VIEWPORTS, screenshot
from tests.otp import next_code
from users.models import Authenticator, User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "x-test-password"


def password_step(page: Page, url: str, username: str) -> None:
    page.goto(url + "/admin/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_finance_enrols_then_logs_in_with_a_code(
    live_server, new_page, role_user, screenshot_dir, viewport
):
    user = role_user("finance")
    page, watcher = new_page(viewport)
    shots = screenshot_dir / viewport

    # First login: the password, then the back office asks for enrolment.
    password_step(page, live_server.url, user.username)
    expect(page.get_by_test_id("two-factor-required")).to_be_visible()
    qr = page.get_by_test_id("two-factor-qr").locator("svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 150  # big enough to scan
    expect(page.get_by_test_id("two-factor-secret")).not_to_be_empty()
    screenshot(page, f"{shots}-setup.png")
    # Nothing else opens before the code: the dashboard sends back here.
    page.goto(live_server.url + "/admin/")
    expect(page.get_by_test_id("two-factor-setup-form")).to_be_visible()

    scanned = Authenticator.objects.get(user=user, confirmed=False)
    page.get_by_test_id("code-input").fill(next_code(scanned))
    page.get_by_role("button", name="开启两步验证").click()
    codes = page.get_by_test_id("recovery-codes").locator("li")
    expect(codes).to_have_count(10)
    screenshot(page, f"{shots}-recovery-codes.png")
    page.get_by_test_id("recovery-codes-done").click()
    expect(page.get_by_test_id("dashboard")).to_be_visible()

    # Next login, in a fresh browser: password, then the code.
    again, again_watcher = new_page(viewport)
    password_step(again, live_server.url, user.username)
    expect(again.get_by_test_id("two-factor-verify-form")).to_be_visible()
    again.get_by_test_id("code-input").fill("000000")
    again.get_by_role("button", name="验证").click()
    expect(again.get_by_test_id("code-error")).to_have_text("验证码不正确。")
    screenshot(again, f"{shots}-verify-wrong.png")
    Authenticator.objects.filter(user=user).update(throttling_failure_timestamp=None)
    device = Authenticator.objects.get(user=user, confirmed=True)
    again.get_by_test_id("code-input").fill(next_code(device))
    again.get_by_role("button", name="验证").click()
    expect(again.get_by_test_id("dashboard")).to_be_visible()

    # Their account page: two-factor on, and the logins with the failed code.
    again.goto(live_server.url + "/admin/me/")
    expect(again.get_by_test_id("two-factor-state")).to_contain_text("已开启")
    rows = again.get_by_test_id("login-row")
    expect(rows.first).to_contain_text("成功")
    expect(again.get_by_test_id("login-history")).to_contain_text("失败")
    expect(again.get_by_test_id("login-history")).to_contain_text("动态验证码")
    expect(again.get_by_test_id("login-history")).to_contain_text("127.0.*.*")
    if viewport == "phone":
        width = again.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the account page scrolls sideways ({width}px)"
    screenshot(again, f"{shots}-account.png")
    watcher.assert_clean()
    again_watcher.assert_clean()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_buyer_reads_their_logins_in_the_shop(
    live_server, new_page, screenshot_dir, viewport
):
    User.objects.create_user(username="history-buyer", password=PASSWORD)
    page, watcher = new_page(viewport)
    page.goto(live_server.url + "/shop/login/")
    page.get_by_label("用户名").fill("history-buyer")
    page.get_by_label("密码").fill("not-the-password")
    page.locator("form.narrow").get_by_role("button").click()
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_label("用户名").fill("history-buyer")
    page.locator("form.narrow").get_by_role("button").click()
    page.get_by_role("link", name="我的账号").click()
    history = page.get_by_test_id("login-history")
    expect(history.get_by_test_id("login-row")).to_have_count(2)
    expect(history.get_by_test_id("login-row").first).to_contain_text("成功")
    expect(history.get_by_test_id("login-row").last).to_contain_text("失败")
    if viewport == "phone":
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the account page scrolls sideways ({width}px)"
    screenshot(page, screenshot_dir / f"{viewport}-account.png")
    watcher.assert_clean()
