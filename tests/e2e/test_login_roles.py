"""Each staff role logs in through a real browser and lands on a Chinese dashboard."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import VIEWPORTS, pass_two_factor, screenshot
from users.roles import ROLES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "x-test-password"
ROLE_CODES = [role.code for role in ROLES]


def log_in(page: Page, url: str, username: str, shots: Path) -> None:
    """Sign in on the Chinese login page, screenshotting it before and after."""
    page.goto(url + "/admin/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    screenshot(page, f"{shots}-login.png")
    page.get_by_role("button", name="登录").click()
    # Super admin and finance: set up the authenticator, or type its code.
    pass_two_factor(page, username)
    expect(page.get_by_test_id("dashboard")).to_be_visible()
    screenshot(page, f"{shots}-dashboard.png")


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("role", ROLE_CODES)
def test_role_logs_in_to_chinese_dashboard(
    live_server, new_page, role_user, screenshot_dir, role, viewport
):
    """A staff member of any role signs in on desktop or phone and sees the
    dashboard in Chinese, although the browser asks for English, with nothing
    broken behind the scenes (no script errors, no failed or 4xx/5xx requests)."""
    user = role_user(role)
    page, watcher = new_page(viewport)

    log_in(page, live_server.url, user.username, screenshot_dir / f"{role}-{viewport}")

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", name="站点管理")).to_be_visible()
    watcher.assert_clean()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_language_switcher_changes_to_english(
    live_server, new_page, role_user, screenshot_dir, viewport
):
    """From the user menu at the bottom of the sidebar, choosing English reloads the
    back office in English, and it stays English on the next page."""
    user = role_user("operations")
    page, watcher = new_page(viewport)
    shots = screenshot_dir / f"operations-{viewport}"
    log_in(page, live_server.url, user.username, shots)

    if viewport == "phone":
        # The sidebar is folded away on small screens; its toggle is in the header.
        page.get_by_text("dock_to_right", exact=True).filter(visible=True).click()
    page.locator("#nav-sidebar-inner").get_by_text(user.username, exact=True).click()
    english = page.get_by_role("button", name=re.compile(r"^English"))
    expect(english).to_be_visible()
    screenshot(page, f"{shots}-menu.png", full_page=False)
    english.click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    screenshot(page, f"{shots}-english.png")

    page.goto(live_server.url + "/admin/password_change/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_label("Old password")).to_be_visible()
    watcher.assert_clean()
