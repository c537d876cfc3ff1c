"""The dashboard in a real browser, on a PC and on a phone: a manager opens the
back-office home, clicks a category in the chart to drill into it (the filter
lands in the URL), then compares two weeks side by side."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analytics.rollups import rebuild_rollups
from tests.analytics.factories import sold
from tests.catalog.factories import make_category, make_product, make_sku
from tests.e2e.helpers import pass_two_factor, screenshot
from tests.orders.factories import make_buyer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT_WIDTH = {"desktop": 1366, "phone": 390}


@pytest.fixture
def sales():
    phone = make_category("话费充值")
    mobile = make_sku(
        product=make_product(name="移动话费快充", category=phone),
        price=Decimal("90.00"),
    )
    cards = make_sku(
        product=make_product(name="Q币直充", category=make_category("游戏点卡")),
        price=Decimal("10.00"),
    )
    now = timezone.localtime()
    for days_ago in (1, 2, 8):
        buyer = make_buyer()
        sold(sku=mobile, buyer=buyer, paid_at=now - timedelta(days=days_ago))
        sold(sku=cards, buyer=buyer, paid_at=now - timedelta(days=days_ago))
    rebuild_rollups(since=timezone.localdate() - timedelta(days=40))
    return phone


def inside_screen(locator, viewport: str) -> None:
    box = locator.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT_WIDTH[viewport] + 1


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_manager_drills_into_a_category_and_compares_two_weeks(
    live_server, new_page, role_user, screenshot_dir, sales, viewport
):
    user = role_user("operations")
    page, watcher = new_page(viewport)
    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill("x-test-password")
    page.get_by_role("button", name="登录").click()
    pass_two_factor(page, user.username)

    page.goto(live_server.url + "/admin/")
    expect(page.get_by_test_id("value-gmv")).to_contain_text("¥300.00")
    expect(page.get_by_test_id("kpi-gross_profit")).to_be_visible()
    mix = page.locator('[data-chart="dashboard-mix"]')
    expect(mix).to_have_attribute("data-chart-drawn", "true")
    for chart in ("dashboard-trend", "dashboard-heat", "dashboard-skus"):
        drawn = page.locator(f'[data-chart="{chart}"]')
        expect(drawn).to_have_attribute("data-chart-drawn", "true")
        inside_screen(drawn, viewport)
    inside_screen(page.get_by_test_id("kpi-cards"), viewport)
    screenshot(page, screenshot_dir / f"{viewport}-dashboard.png")

    # 话费充值 holds 90 % of GMV: its slice starts at 12 o'clock and runs
    # clockwise past 3 o'clock, so the ring's right-hand middle belongs to it.
    mix.scroll_into_view_if_needed()
    box = mix.bounding_box()
    middle_radius = min(box["width"], box["height"]) / 2 * 0.5
    page.mouse.click(
        box["x"] + box["width"] / 2 + middle_radius, box["y"] + box["height"] / 2
    )
    expect(page).to_have_url(f"{live_server.url}/admin/?category={sales.pk}")
    expect(page.get_by_test_id("chip-category")).to_contain_text("话费充值")
    expect(page.get_by_test_id("value-gmv")).to_contain_text("¥270.00")
    expect(page.get_by_test_id("mix-table")).to_contain_text("移动话费快充")
    # The shared link opens the same view.
    page.goto(page.url)
    expect(page.get_by_test_id("chip-category")).to_contain_text("话费充值")

    page.get_by_test_id("compare-link").click()
    expect(page.get_by_test_id("compare-table")).to_be_visible()
    today = timezone.localdate()
    week_a = (today - timedelta(days=6), today)
    week_b = (today - timedelta(days=13), today - timedelta(days=7))
    page.locator('input[name="a_since"]').fill(week_a[0].isoformat())
    page.locator('input[name="a_until"]').fill(week_a[1].isoformat())
    page.locator('input[name="b_since"]').fill(week_b[0].isoformat())
    page.locator('input[name="b_until"]').fill(week_b[1].isoformat())
    page.get_by_test_id("compare-submit").click()
    expect(page).to_have_url(
        f"{live_server.url}/admin/analytics/compare/?category={sales.pk}&a_since={week_a[0]}&a_until={week_a[1]}&b_since={week_b[0]}&b_until={week_b[1]}"
    )
    expect(page.get_by_test_id("compare-gmv")).to_contain_text("¥180.00")
    expect(page.get_by_test_id("difference-gmv")).to_contain_text("+¥90.00")
    expect(page.get_by_test_id("compare-filters")).to_contain_text("话费充值")
    expect(page.locator('[data-chart="compare-chart"]')).to_have_attribute(
        "data-chart-drawn", "true"
    )
    screenshot(page, screenshot_dir / f"{viewport}-compare.png")
    watcher.assert_clean()
