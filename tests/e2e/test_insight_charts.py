"""The insight pages in a real browser: the vendored ECharts draws each chart
from the page's json_script data (no inline script), on a PC and on a phone,
and a would-be buyer sees recommendations in the shop."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders.recommendations import compute_co_purchases
from tests.analytics.factories import sold
from tests.catalog.factories import make_category, make_product, make_sku
from tests.e2e.helpers import pass_two_factor, screenshot
from tests.orders.factories import make_buyer
from users.models import MemberLevel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT_WIDTH = {"desktop": 1366, "phone": 390}


@pytest.fixture
def sales():
    gold = MemberLevel.objects.create(code="gold", name="黄金", rank=3)
    phone = make_sku(
        product=make_product(name="移动话费快充", category=make_category("话费充值")),
        price=Decimal("49.50"),
    )
    cards = make_sku(
        product=make_product(name="Q币直充", category=make_category("游戏点卡")),
        price=Decimal("9.80"),
    )
    yesterday = timezone.localtime() - timedelta(days=1)
    for hour, sku, count in ((20, phone, 5), (12, cards, 3), (9, phone, 1)):
        for _ in range(count):
            buyer = make_buyer(member_level=gold)
            sold(sku=sku, buyer=buyer, paid_at=yesterday.replace(hour=hour))
    return phone, cards


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_marketer_sees_the_charts_drawn(
    live_server, new_page, role_user, screenshot_dir, sales, viewport
):
    user = role_user("marketing")
    page, watcher = new_page(viewport)
    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill("x-test-password")
    page.get_by_role("button", name="登录").click()
    pass_two_factor(page, user.username)

    for path, chart in (
        ("hours", "hours-chart"),
        ("levels", "levels-chart"),
        ("growth", "growth-chart"),
    ):
        page.goto(f"{live_server.url}/admin/analytics/insights/{path}/")
        drawn = page.locator(f'[data-chart="{chart}"]')
        expect(drawn).to_have_attribute("data-chart-drawn", "true")
        # ECharts' SVG renderer drew shapes, inside the screen's width
        assert drawn.locator("svg path").count() > 3
        box = drawn.bounding_box()
        assert box["height"] >= 240
        assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT_WIDTH[viewport]
        screenshot(page, screenshot_dir / f"{viewport}-{path}.png")
    watcher.assert_clean()

    page.goto(f"{live_server.url}/admin/analytics/insights/levels/")
    expect(page.get_by_test_id("levels-table")).to_contain_text("话费充值")
    page.goto(f"{live_server.url}/admin/analytics/insights/hours/")
    expect(page.get_by_test_id("peaks-table")).to_contain_text("20:00")
    watcher.assert_clean()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_would_be_buyer_is_shown_recommendations(
    live_server, new_page, screenshot_dir, sales, viewport
):
    phone, cards = sales
    for _ in range(2):  # two buyers bought both
        buyer = make_buyer()
        sold(sku=phone, buyer=buyer, paid_at=timezone.now())
        sold(sku=cards, buyer=buyer, paid_at=timezone.now())
    compute_co_purchases()
    would_be = make_buyer(password="x-test-password")  # never bought
    page, watcher = new_page(viewport)
    page.goto(live_server.url + "/shop/login/")
    page.get_by_label("用户名").fill(would_be.username)
    page.get_by_label("密码").fill("x-test-password")
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_load_state()

    page.goto(f"{live_server.url}/shop/p/{phone.product_id}/")
    expect(page.get_by_test_id("rec-together")).to_contain_text("Q币直充")
    page.goto(f"{live_server.url}/shop/")
    expect(page.get_by_test_id("rec-viewed")).to_contain_text("移动话费快充")
    card = page.get_by_test_id("rec-viewed").locator("a.card").first
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT_WIDTH[viewport]
    screenshot(page, screenshot_dir / f"{viewport}-shop.png")
    watcher.assert_clean()
