"""A manager makes the weekly report in a real browser: 立即生成, the progress
bar reaches 100 %, and the Excel and the PDF download (desktop and phone)."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect
from pypdf import PdfReader

from analytics.models import ReportTemplate
from analytics.reports.content import report_period
from analytics.reports.services import save_report_template
from analytics.rollups import rebuild_rollups
from tests.analytics.factories import sold
from tests.catalog.factories import make_sku
from tests.e2e.helpers import VIEWPORTS, pass_two_factor, screenshot
from tests.orders.factories import make_buyer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_manager_downloads_the_weekly_excel_and_pdf(
    live_server, new_page, role_user, screenshot_dir, settings, tmp_path, viewport
):
    settings.REPORT_DIR = tmp_path / "reports"
    manager = role_user("finance")
    template = save_report_template(
        template=ReportTemplate(
            name="销售周报", kind="weekly_sales", period="last_week", owner=manager
        ),
        actor=manager,
    )
    week = report_period("last_week", on=timezone.localdate())
    sku = make_sku(price=Decimal("30.00"))
    noon = datetime.combine(
        week.since, time(12), tzinfo=timezone.get_current_timezone()
    )
    for day in range(3):
        sold(sku=sku, buyer=make_buyer(), paid_at=noon + timedelta(days=day))
    rebuild_rollups(since=week.since, until=week.until)
    page, watcher = new_page(viewport)
    shots = screenshot_dir / f"reports-{viewport}"

    page.goto(f"{live_server.url}/admin/login/?next=/admin/analytics/reports/")
    page.get_by_label("用户名").fill(manager.username)
    page.get_by_label("密码").fill("x-test-password")
    page.get_by_role("button", name="登录").click()
    pass_two_factor(page, manager.username)
    expect(page.get_by_test_id("report-templates")).to_be_visible()
    screenshot(page, f"{shots}-list.png")

    page.get_by_test_id(f"generate-{template.pk}").click()
    progress = page.get_by_test_id("report-progress")
    expect(progress).to_have_attribute("data-percent", "100", timeout=60_000)
    expect(page.get_by_test_id("report-summary")).to_contain_text("¥90.00")
    screenshot(page, f"{shots}-done.png")

    with page.expect_download() as excel:
        page.get_by_test_id("report-excel").click()
    excel_path = tmp_path / f"{viewport}.xlsx"
    excel.value.save_as(excel_path)
    summary = list(load_workbook(excel_path)["摘要"].values)
    assert summary[0][0] == "销售周报"
    assert ("成交额", 90, 0, None) in summary

    with page.expect_download() as pdf:
        page.get_by_test_id("report-pdf").click()
    pdf_path = tmp_path / f"{viewport}.pdf"
    pdf.value.save_as(pdf_path)
    text = "".join(p.extract_text() for p in PdfReader(pdf_path).pages)
    assert "销售周报" in text and "每日销售" in text
    watcher.assert_clean()
