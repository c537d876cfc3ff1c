"""Benchmarks of the reports (issue 14).

    python manage.py bench export_excel [--rows 500000] [--orders 750000]
    python manage.py bench weekly_pdf [--runs 3]

export_excel: the streamed Excel export of --rows orders (the order
workbench's export, run as the worker runs it) over the workbench bench's
generated orders, placed before any other orders (a generate_history of
10,000,000 orders may be there too): seconds and peak memory. Target: 500,000
rows under 60 s and under 300 MB.

weekly_pdf: the weekly sales report of last week as a PDF (content from the
dashboard's selectors over the rollups, matplotlib charts, WeasyPrint with
Noto CJK), as the worker makes it: seconds per run. Needs sales history: when
last week has no rollups, it loads some with generate_history first. Target:
under 10 s.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.core.management import call_command
from django.utils import timezone

from analytics.models import ReportTemplate, SalesRollup
from analytics.reports.content import build_content, report_period
from analytics.reports.pdf import write_pdf
from analytics.rollups import rebuild_rollups
from bench.processes import require_postgres
from bench.registry import benchmark
from bench.workbench import bench_staff, load_bench_orders, measure_export
from orders.models import Order


@benchmark(
    "export_excel",
    help="The streamed Excel export of 500,000 orders: seconds and peak memory.",
    arguments=[
        ("--rows", {"type": int, "default": 500_000}),
        ("--orders", {"type": int, "default": 750_000}),
    ],
)
def export_excel(*, rows: int, orders: int, stdout) -> dict:
    require_postgres()
    # 70 % of bench orders are delivered: 1.5 x --rows orders hold the rows.
    # Older than a generated history, so the export's date range holds the
    # bench's orders alone however large the history.
    load_seconds = load_bench_orders(
        max(orders, rows * 3 // 2), stdout, before_others=True
    )
    figures = measure_export(user=bench_staff(), rows=rows)
    return {
        "database": "postgresql",
        "load_seconds": round(load_seconds, 1),
        **figures,
        "load_average": round(os.getloadavg()[0], 1),
        "target": "500,000 rows < 60 s, < 300 MB",
    }


def ensure_last_week(stdout) -> int:
    """Orders paid last week, loading a small history when there are none."""
    period = report_period(
        ReportTemplate.PeriodChoice.LAST_WEEK, on=timezone.localdate()
    )
    has_sales = SalesRollup.objects.filter(
        day__gte=period.since, day__lte=period.until
    ).exists()
    if not has_sales:
        stdout.write("no sales last week: generating a history of 60 days")
        call_command(
            "generate_history", buyers=20_000, orders=200_000, days=60, stdout=stdout
        )
        rebuild_rollups(since=period.since - timedelta(days=14), until=period.until)
    return Order.objects.filter(
        paid_at__date__gte=period.since, paid_at__date__lte=period.until
    ).count()


@benchmark(
    "weekly_pdf",
    help="The weekly sales report as a PDF (content, charts, WeasyPrint): seconds.",
    arguments=[("--runs", {"type": int, "default": 3})],
)
def weekly_pdf(*, runs: int, stdout) -> dict:
    require_postgres()
    orders = ensure_last_week(stdout)
    template = ReportTemplate(
        name="销售周报", kind=ReportTemplate.Kind.WEEKLY_SALES, period="last_week"
    )
    period = report_period(template.period, on=timezone.localdate())
    content_times, pdf_times, sizes = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for run in range(runs):
            started = time.perf_counter()
            content = build_content(template=template, period=period, with_cost=True)
            built = time.perf_counter()
            path = write_pdf(
                content, Path(folder) / f"weekly-{run}.pdf", generated_at=timezone.now()
            )
            finished = time.perf_counter()
            content_times.append(built - started)
            pdf_times.append(finished - built)
            sizes.append(path.stat().st_size)
    totals = [a + b for a, b in zip(content_times, pdf_times, strict=True)]
    return {
        "database": "postgresql",
        "orders_in_week": orders,
        "runs": runs,
        "seconds_median": round(statistics.median(totals), 2),
        "seconds_max": round(max(totals), 2),
        "content_seconds_median": round(statistics.median(content_times), 2),
        "pdf_seconds_median": round(statistics.median(pdf_times), 2),
        "pdf_kb": round(statistics.median(sizes) / 1024),
        "load_average": round(os.getloadavg()[0], 1),
        "target": "weekly PDF < 10 s",
    }
