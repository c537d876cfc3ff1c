"""Support filters the order workbench in a real browser, saves the filters,
exports the list to Excel, watches the progress reach 100 % and downloads the
file (desktop and phone)."""

from decimal import Decimal

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from orders.models import Order, SavedOrderFilter
from tests.catalog.factories import make_sku
from tests.e2e.helpers import VIEWPORTS, pass_two_factor, screenshot
from tests.orders.factories import make_buyer
from tests.orders.workbench_helpers import local, make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_support_filters_saves_and_exports_the_order_list(
    live_server, new_page, role_user, screenshot_dir, settings, tmp_path, viewport
):
    settings.ORDER_EXPORT_DIR = tmp_path / "exports"
    sku = make_sku(price=Decimal("10.00"))
    buyer = make_buyer()
    wanted = [
        make_order(
            sku, buyer=buyer, amount=Decimal("30.00"), created=local(2026, 11, d)
        )
        for d in (3, 4, 5)
    ]
    make_order(sku, buyer=buyer, status=Order.Status.PAID, created=local(2026, 11, 4))
    make_order(sku, buyer=buyer, created=local(2026, 10, 1))
    user = role_user("support")
    page, watcher = new_page(viewport)
    shots = screenshot_dir / f"workbench-{viewport}"

    page.goto(f"{live_server.url}/admin/login/?next=/admin/orders/workbench/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill("x-test-password")
    page.get_by_role("button", name="登录").click()
    pass_two_factor(page, user.username)
    expect(page.get_by_test_id("workbench-filters")).to_be_visible()

    page.get_by_test_id("filter-status").select_option("delivered")
    page.get_by_test_id("filter-created_from").fill("2026-11-01")
    page.get_by_test_id("apply-filters").click()
    rows = page.get_by_test_id("workbench-row")
    expect(rows).to_have_count(3)
    expect(rows.first).to_have_attribute("data-order-no", wanted[-1].order_no)
    screenshot(page, f"{shots}-list.png")

    page.get_by_test_id("saved-filter-name").fill("十一月已发货")
    page.get_by_test_id("save-filter").click()
    expect(page.get_by_test_id("saved-filter")).to_have_text("十一月已发货")
    assert SavedOrderFilter.objects.get(owner=user).name == "十一月已发货"

    page.get_by_test_id("export-orders").click()
    progress = page.get_by_test_id("export-progress")
    expect(progress).to_have_attribute("data-percent", "100", timeout=20_000)
    screenshot(page, f"{shots}-export.png")
    with page.expect_download() as download:
        page.get_by_test_id("export-download").click()
    path = tmp_path / f"{viewport}.xlsx"
    download.value.save_as(path)
    assert download.value.suggested_filename.endswith(".xlsx")
    sheet = list(load_workbook(path, read_only=True).active.values)
    assert sheet[0][0] == "订单号" and "成本" not in sheet[0]
    assert [row[0] for row in sheet[1:]] == [o.order_no for o in reversed(wanted)]
    watcher.assert_clean()
