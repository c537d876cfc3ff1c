"""Reports: the weekly sales report and the monthly user analysis as Excel and
PDF, on demand with a progress bar or on a cron schedule with a mail, past runs
downloadable, and never a cost or profit figure for someone who may not see cost."""

import io
import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django_celery_beat.models import PeriodicTask
from openpyxl import load_workbook
from pypdf import PdfReader

from analytics.dashboard import Period
from analytics.models import ReportRun, ReportTemplate
from analytics.reports.content import previous_period, report_period
from analytics.reports.services import (
    make_report,
    request_report,
    run_file,
    save_report_template,
)
from analytics.reports.summary import anomalies
from analytics.rollups import rebuild_rollups
from analytics.tasks import run_scheduled_report_task
from catalog.models import SkuSalesDay
from tests.analytics.factories import at, sold
from tests.catalog.factories import make_category, make_product, make_sku
from tests.orders.factories import make_buyer

pytestmark = pytest.mark.django_db
MONDAY = date(2026, 11, 23)  # the run day: last week is 16–22 November


@pytest.fixture
def shop():
    cards = make_category("游戏点卡")
    phone = make_category("话费充值")
    qq = make_sku(
        product=make_product(name="Q币", category=cards),
        price=Decimal("10.00"),
        cost_price=Decimal("8.00"),
    )
    mobile = make_sku(
        product=make_product(name="移动快充", category=phone),
        price=Decimal("50.00"),
        cost_price=Decimal("47.00"),
    )
    buyer = make_buyer()
    # Last week: ¥100 of Q币 + ¥100 of 移动快充 (one ¥50 order refunded in full).
    sold(sku=qq, buyer=buyer, paid_at=at("2026-11-16 10:00"), quantity=10)
    sold(sku=mobile, buyer=buyer, paid_at=at("2026-11-18 21:00"))
    sold(
        sku=mobile,
        buyer=buyer,
        paid_at=at("2026-11-22 23:59"),
        refunded="50.00",
        status="refunded",
    )
    # The week before: ¥50 of Q币 only.
    sold(sku=qq, buyer=buyer, paid_at=at("2026-11-10 09:00"), quantity=5)
    rebuild_rollups(since=date(2026, 11, 9), until=date(2026, 11, 22))
    return {"qq": qq, "mobile": mobile}


def weekly(owner, **fields):
    template = ReportTemplate(
        name="销售周报",
        kind=ReportTemplate.Kind.WEEKLY_SALES,
        period=ReportTemplate.PeriodChoice.LAST_WEEK,
        owner=owner,
        **fields,
    )
    return save_report_template(template=template, actor=owner)


def made(template, requester):
    run = request_report(template=template, requester=requester, on=MONDAY)
    return make_report(run_id=run.pk)


def cells(workbook) -> list[str]:
    return [
        str(cell)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    ]


def pdf_text(path) -> str:
    return "".join(page.extract_text() for page in PdfReader(path).pages)


@pytest.mark.parametrize(
    ("choice", "on", "since", "until"),
    [
        ("last_week", date(2026, 11, 23), date(2026, 11, 16), date(2026, 11, 22)),
        ("last_week", date(2026, 11, 26), date(2026, 11, 16), date(2026, 11, 22)),
        ("last_month", date(2026, 11, 26), date(2026, 10, 1), date(2026, 10, 31)),
        ("last_7_days", date(2026, 11, 26), date(2026, 11, 19), date(2026, 11, 25)),
        ("last_30_days", date(2026, 3, 1), date(2026, 1, 30), date(2026, 2, 28)),
    ],
)
def test_a_report_covers_the_last_whole_period(choice, on, since, until):
    assert report_period(choice, on=on) == Period(since=since, until=until)


def test_a_month_is_compared_with_the_month_before():
    october = Period(since=date(2026, 10, 1), until=date(2026, 10, 31))
    assert previous_period(october) == Period(
        since=date(2026, 9, 1), until=date(2026, 9, 30)
    )


def test_the_weekly_excel_holds_the_figures_formatted(shop, role_user):
    finance = role_user("finance")
    run = made(weekly(finance), finance)
    assert (run.status, run.progress, run.with_cost) == ("done", 100, True)

    book = load_workbook(run_file(run, "excel"))
    assert book.sheetnames == ["摘要", "每日销售", "品类结构", "热销 SKU"]
    summary = {row[0]: row[1:] for row in book["摘要"].iter_rows(values_only=True)}
    assert summary["成交额"][:2] == (200, 50)  # GMV before refunds
    assert summary["毛利"][0] == 200 - 50 - (80 + 47)  # refunded order: no cost
    days = book["每日销售"]
    assert days.freeze_panes == "A2"
    rows = list(days.iter_rows(values_only=True))
    assert rows[0][:4] == ("日期", "订单", "件数", "成交额")
    assert len(rows) == 1 + 7
    assert rows[1][:4] == ("2026-11-16", 1, 10, 100.0)
    assert days["D2"].number_format == "#,##0.00"
    assert "毛利" in rows[0]
    assert "成交额" in run.summary and "+300.0%" in run.summary


def test_without_view_cost_no_cost_or_profit_is_in_either_file(shop, role_user):
    marketer = role_user("marketing")
    run = made(weekly(marketer), marketer)
    assert run.with_cost is False
    text = " ".join(cells(load_workbook(run_file(run, "excel"))))
    pdf = pdf_text(run_file(run, "pdf"))
    for word in ("成本", "毛利"):
        assert word not in text
        assert word not in pdf


def test_the_pdf_reads_chinese_with_the_summary_and_page_numbers(shop, role_user):
    finance = role_user("finance")
    run = made(weekly(finance), finance)
    text = pdf_text(run_file(run, "pdf"))
    for heading in ("销售周报", "摘要", "关键指标", "每日销售", "品类结构", "热销 SKU"):
        assert heading in text
    assert re.search(r"页码 1 / \d", text)
    assert run.summary[:12] in text.replace("\n", "")


def test_the_monthly_user_report_has_levels_segments_and_cohorts(shop, role_user):
    finance = role_user("finance")
    template = save_report_template(
        template=ReportTemplate(
            name="用户月报",
            kind=ReportTemplate.Kind.MONTHLY_USERS,
            period=ReportTemplate.PeriodChoice.LAST_MONTH,
            owner=finance,
        ),
        actor=finance,
    )
    run = request_report(template=template, requester=finance, on=date(2026, 12, 2))
    run = make_report(run_id=run.pk)
    assert (run.first_day, run.last_day) == (date(2026, 11, 1), date(2026, 11, 30))
    book = load_workbook(run_file(run, "excel"))
    assert {"会员等级分布", "分群规模", "注册周留存"} <= set(book.sheetnames)
    assert "新买家" in " ".join(cells(book))


def test_a_custom_report_breaks_chosen_metrics_down_by_category(shop, role_user):
    finance = role_user("finance")
    template = save_report_template(
        template=ReportTemplate(
            name="品类毛利",
            kind=ReportTemplate.Kind.CUSTOM,
            metrics=["gmv", "profit"],
            dimension=ReportTemplate.Dimension.CATEGORY,
            formats=ReportTemplate.Formats.EXCEL,
            owner=finance,
        ),
        actor=finance,
    )
    run = made(template, finance)
    assert run.pdf_file == ""
    rows = list(
        load_workbook(run_file(run, "excel"))["品类毛利"].iter_rows(values_only=True)
    )
    assert rows[0] == ("分类", "成交额", "毛利")
    assert ("游戏点卡", 100.0, 20.0) in rows
    assert ("话费充值", 100, 100 - 50 - 47) in rows


def test_a_scheduled_report_runs_from_its_beat_entry_and_is_mailed(
    shop, role_user, settings, tmp_path
):
    settings.REPORT_DIR = tmp_path
    finance = role_user("finance")
    template = weekly(
        finance, schedule="0 8 * * 1", recipients="boss@example.com\nops@example.com"
    )
    entry = PeriodicTask.objects.get(task="analytics.run_scheduled_report")
    assert json.loads(entry.kwargs) == {"template_id": template.pk}
    assert (entry.crontab.minute, entry.crontab.hour, entry.crontab.day_of_week) == (
        "0",
        "8",
        "1",
    )
    assert str(entry.crontab.timezone) == "Asia/Shanghai"

    assert run_scheduled_report_task.delay(template.pk).get() == "done"

    (message,) = mail.outbox
    assert message.to == ["boss@example.com", "ops@example.com"]
    assert sorted(name[-4:] for name, _content, _type in message.attachments) == [
        ".pdf",
        "xlsx",
    ]
    run = ReportRun.objects.get()
    assert run.scheduled and run.with_cost  # the owner may see cost
    assert run_file(run, "mail").read_bytes().startswith(b"Content-Type")


def test_clearing_the_schedule_removes_the_beat_entry(role_user):
    finance = role_user("finance")
    template = weekly(finance, schedule="0 8 * * 1", recipients="boss@example.com")
    template.schedule = ""
    save_report_template(template=template, actor=finance)
    assert not PeriodicTask.objects.filter(
        task="analytics.run_scheduled_report"
    ).exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "recipients",
            "boss@example.com\nnot-an-address",
            "“not-an-address” 不是邮箱地址。",
        ),
        ("schedule", "0 8 * *", "定时任务由五个字段组成"),
        ("schedule", "99 8 * * 1", "定时任务“99 8 * * 1”无效"),
    ],
)
def test_bad_recipients_and_schedules_are_refused_by_field(
    client, role_user, field, value, message
):
    client.force_login(role_user("operations"))
    data = {
        "name": "周报",
        "kind": "weekly_sales",
        "period": "last_week",
        "dimension": "day",
        "formats": "both",
        "recipients": "boss@example.com",
        "schedule": "0 8 * * 1",
        "enabled": "on",
        field: value,
    }
    page = client.post(reverse("admin:analytics_reporttemplate_add"), data)
    assert page.status_code == 200
    assert message in page.content.decode()
    assert not ReportTemplate.objects.exists()
    assert not PeriodicTask.objects.filter(
        task="analytics.run_scheduled_report"
    ).exists()


def test_generate_now_shows_progress_then_the_downloads(
    shop, client, role_user, django_capture_on_commit_callbacks
):
    operations = role_user("operations")
    template = weekly(operations)
    client.force_login(operations)
    with django_capture_on_commit_callbacks(execute=True):  # the worker's turn
        answer = client.post(reverse("analytics:report_generate", args=[template.pk]))
    run = ReportRun.objects.get()
    assert answer.url == reverse("analytics:report_run", args=[run.pk])
    page = client.get(answer.url).content.decode()
    assert 'data-status="done"' in page and "下载 Excel" in page
    excel = client.get(reverse("analytics:report_download", args=[run.pk, "excel"]))
    assert excel.status_code == 200
    assert (
        load_workbook(io.BytesIO(b"".join(excel.streaming_content))).sheetnames[0]
        == "摘要"
    )
    listing = client.get(reverse("analytics:reports")).content.decode()
    assert "销售周报" in listing and f'data-run="{run.pk}"' in listing


def test_a_file_with_cost_is_not_handed_to_someone_without_it(shop, client, role_user):
    finance = role_user("finance")
    run = made(weekly(finance), finance)
    client.force_login(role_user("marketing"))
    answer = client.get(reverse("analytics:report_download", args=[run.pk, "pdf"]))
    assert answer.status_code == 403


def test_support_has_no_reports(client, role_user):
    client.force_login(role_user("support"))
    assert client.get(reverse("analytics:reports")).status_code == 403


def test_a_best_seller_far_above_its_forecast_is_named(db):
    sku = make_sku(product=make_product(name="王者点券"), name="面值 60")
    start = date(2026, 11, 16)
    SkuSalesDay.objects.bulk_create(
        SkuSalesDay(sku=sku, day=start - timedelta(days=n), quantity=10)
        for n in range(1, 71)
    )
    SkuSalesDay.objects.bulk_create(
        SkuSalesDay(sku=sku, day=start + timedelta(days=n), quantity=40)
        for n in range(7)
    )
    (found,) = anomalies(
        period=Period(since=start, until=start + timedelta(days=6)), sku_ids=[sku.pk]
    )
    assert found.actual == 280 and round(found.forecast) == 70 and found.above
    assert "王者点券" in found.name


def test_deleting_templates_removes_their_schedules(client, role_user):
    finance = role_user("finance")
    template = weekly(finance, schedule="0 8 * * 1", recipients="boss@example.com")
    client.force_login(finance)
    client.post(
        reverse("admin:analytics_reporttemplate_changelist"),
        {"action": "delete_selected", "_selected_action": [template.pk], "post": "yes"},
    )
    assert not ReportTemplate.objects.exists()
    assert not PeriodicTask.objects.filter(
        task="analytics.run_scheduled_report"
    ).exists()
