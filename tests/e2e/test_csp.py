"""Every page keeps to its Content-Security-Policy in a real browser (issue 15).

A buyer walks the shop (login, home, product with its live quote, checkout, the
order page, the sandbox pay page, wallet, lookup) and a super admin walks the back
office (the dashboard with its charts and a chart's tooltip, a changelist and its
filters, change forms, the order workbench, reports, the compare page). The
browser reports each thing the policy refused as a `securitypolicyviolation`
event, which an init script collects on every page, and as a console error: the
test fails on either, naming the page, the directive and the blocked source.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import ConsoleMessage, Page, expect

from analytics.rollups import rebuild_rollups
from orders.models import Order
from tests.analytics.factories import sold
from tests.catalog.factories import make_category, make_product, make_sku
from tests.e2e.helpers import pass_two_factor
from tests.orders.factories import make_buyer, stock_codes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any script of each page: every refusal lands in window.__csp.
COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__csp.push([
    event.effectiveDirective,
    event.blockedURI,
    (event.sourceFile || "") + ":" + event.lineNumber,
    (event.sample || "").slice(0, 80),
  ].join(" | "));
});
"""


# ECharts' tooltip: a <div> in the chart, shown with the hovered day's figures.
TOOLTIP_SHOWN = """chart => Array.from(chart.querySelectorAll("div")).some(
  div => div.style.position === "absolute" && div.style.display !== "none"
    && div.innerText.trim() !== "")"""


class PolicyWatcher:
    """The policy's refusals on a page, from the event and from the console."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.refused: list[str] = []
        page.add_init_script(COLLECT_VIOLATIONS)
        page.on("console", self._on_console)

    def _on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.refused.append(f"console: {message.text}")

    def check(self, where: str) -> None:
        """Everything the page refused so far (it stays open; later checks
        add what came since)."""
        events = self.page.evaluate("window.__csp || []")
        self.page.evaluate("window.__csp = []")
        self.refused.extend(f"{where}: {event}" for event in events)

    def assert_none(self) -> None:
        assert not self.refused, (
            "Refused by the Content-Security-Policy:\n" + "\n".join(self.refused)
        )


def log_in(page: Page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("x-test-password")
    page.locator("form").get_by_role("button", name="登录").click()


def test_a_buyer_walks_the_shop_without_a_refusal(live_server, new_page):
    product = make_product(name="Steam 钱包充值卡", category=make_category("Steam"))
    sku = make_sku(product=product, name="¥50", price=Decimal("49.00"))
    stock_codes(sku, 3, prefix="STEAM")
    buyer = make_buyer(Decimal("100.00"), password="x-test-password")
    page, watcher = new_page("desktop")
    policy = PolicyWatcher(page)
    shop = live_server.url + "/shop/"

    log_in(page, shop + "login/", buyer.username)
    policy.check("shop login")
    expect(page.get_by_role("link", name="Steam 钱包充值卡")).to_be_visible()
    policy.check("shop home")

    page.get_by_role("link", name="Steam 钱包充值卡").click()
    page.wait_for_load_state()  # htmx set up: the quantity's input is heard
    expect(page.get_by_test_id("quote")).to_contain_text("¥49.00")
    # The quote is redrawn by htmx: a request in flight shows its indicator.
    page.get_by_label("数量").fill("2")
    expect(page.get_by_test_id("quote")).to_contain_text("¥98.00")
    policy.check("product page")

    page.get_by_role("button", name="立即购买").click()
    expect(page.get_by_test_id("order-status")).to_have_text("已发货")
    policy.check("order page")

    # A second order paid at the (sandbox) gateway: its pay page is ours too.
    page.goto(f"{shop}p/{product.pk}/")
    page.get_by_label("沙箱支付网关").check()
    page.get_by_role("button", name="立即购买").click()
    expect(page.get_by_test_id("sandbox-gateway")).to_be_visible()
    policy.check("sandbox pay page")
    page.get_by_role("button", name="支付", exact=True).click()
    expect(page.get_by_test_id("order-status")).to_have_text("已发货")

    for path, ready in (
        ("wallet/", "balance"),
        ("orders/", None),
        ("lookup/", None),
    ):
        page.goto(shop + path)
        if ready:
            expect(page.get_by_test_id(ready)).to_be_visible()
        page.wait_for_load_state("networkidle")
        policy.check(path)

    policy.assert_none()
    watcher.assert_clean()


@pytest.fixture
def sales():
    """A fortnight of sales in two categories, rolled up for the dashboard."""
    category = make_category("话费充值")
    mobile = make_sku(
        product=make_product(name="移动话费快充", category=category),
        price=Decimal("90.00"),
    )
    cards = make_sku(
        product=make_product(name="Q币直充", category=make_category("游戏点卡")),
        price=Decimal("10.00"),
    )
    now = timezone.localtime()
    orders = []
    for days_ago in (1, 2, 8):
        buyer = make_buyer()
        orders.append(
            sold(sku=mobile, buyer=buyer, paid_at=now - timedelta(days=days_ago))
        )
        sold(sku=cards, buyer=buyer, paid_at=now - timedelta(days=days_ago))
    rebuild_rollups(since=timezone.localdate() - timedelta(days=40))
    return orders


def test_a_super_admin_walks_the_back_office_without_a_refusal(
    live_server, new_page, role_user, sales
):
    admin = role_user("superadmin")
    order = sales[0]
    page, watcher = new_page("desktop")
    policy = PolicyWatcher(page)
    office = live_server.url + "/admin/"

    log_in(page, office + "login/", admin.username)
    policy.check("admin login")
    pass_two_factor(page, admin.username)
    policy.check("two-factor setup")

    page.goto(office)
    trend = page.locator('[data-chart="dashboard-trend"]')
    expect(trend).to_have_attribute("data-chart-drawn", "true")
    for chart in ("dashboard-mix", "dashboard-heat", "dashboard-skus"):
        expect(page.locator(f'[data-chart="{chart}"]')).to_have_attribute(
            "data-chart-drawn", "true"
        )
    # A chart's tooltip is HTML the chart library writes on hover.
    trend.scroll_into_view_if_needed()
    box = trend.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    page.wait_for_function(
        TOOLTIP_SHOWN, arg=trend.element_handle(), polling=100, timeout=10_000
    )
    policy.check("dashboard")

    page.goto(office + "orders/order/")
    expect(page.locator("#result_list")).to_be_visible()
    policy.check("order changelist")
    # A changelist with actions: ticking a row brings up the actions bar.
    page.goto(office + "catalog/product/")
    page.locator("#result_list tbody input.action-select").first.check()
    expect(page.locator("#changelist-actions")).to_be_visible()
    policy.check("product changelist")

    for path in (
        f"orders/order/{order.pk}/change/",
        f"catalog/product/{order.sku.product_id}/change/",
        f"catalog/sku/{order.sku_id}/change/",
        "catalog/product/add/",
    ):
        page.goto(office + path)
        expect(page.locator("#content-main, main").first).to_be_visible()
        page.wait_for_load_state("networkidle")
        policy.check(path)

    page.goto(office + "orders/workbench/")
    expect(page.get_by_test_id("workbench-filters")).to_be_visible()
    page.get_by_test_id("filter-status").select_option(Order.Status.DELIVERED)
    page.get_by_test_id("apply-filters").click()
    expect(page.get_by_test_id("workbench-row").first).to_be_visible()
    policy.check("order workbench")

    page.goto(office + "analytics/reports/")
    expect(page.get_by_test_id("report-templates")).to_be_visible()
    policy.check("reports")

    page.goto(office + "analytics/compare/")
    expect(page.locator('[data-chart="compare-chart"]')).to_have_attribute(
        "data-chart-drawn", "true"
    )
    policy.check("compare")

    policy.assert_none()
    watcher.assert_clean()
