"""The super admin reads the audit log in a browser, on a PC and on a phone: an
edit made in the back office shows with its fields before and after, the
filter narrows the list, and nothing runs off the side of a phone's screen."""

import pytest
from playwright.sync_api import Page, expect

from catalog.models import Category
from tests.catalog.factories import make_category
from tests.e2e.helpers import VIEWPORTS, pass_two_factor, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "x-test-password"


def admin_login(page: Page, url: str, username: str) -> None:
    page.goto(url + "/admin/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    pass_two_factor(page, username)  # the super admin: the authenticator code
    expect(page.get_by_test_id("dashboard")).to_be_visible()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_super_admin_finds_an_edit_and_what_it_changed(
    live_server, new_page, role_user, screenshot_dir, viewport
):
    category = make_category("点卡")
    boss = role_user("superadmin", "boss")
    page, watcher = new_page(viewport)
    admin_login(page, live_server.url, boss.username)

    page.goto(f"{live_server.url}/admin/catalog/category/{category.pk}/change/")
    page.locator("#id_name").fill("游戏点卡")
    page.locator("[name=_save]").first.click()
    page.wait_for_url("**/admin/catalog/category/")
    assert Category.objects.get(pk=category.pk).name == "游戏点卡"

    page.goto(live_server.url + "/admin/audit/")
    page.get_by_label("操作", exact=True).select_option(label="后台修改")
    page.get_by_role("button", name="筛选").click()
    entries = page.get_by_test_id("audit-entry")
    expect(entries).to_have_count(1)
    entry = entries.first
    expect(entry).to_contain_text("boss")
    expect(entry).to_contain_text("后台修改")
    expect(entry).not_to_contain_text("changed")
    entry.locator("summary").click()
    expect(entry.locator("table")).to_contain_text("点卡")
    expect(entry.locator("table")).to_contain_text("游戏点卡")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"
    screenshot(page, screenshot_dir / f"{viewport}.png")
    watcher.assert_clean()
