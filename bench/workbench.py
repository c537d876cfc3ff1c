"""Benchmark: the order workbench at millions of orders.

    python manage.py bench workbench [--orders 5000000] [--export-rows 100000]
                                     [--runs 15] [--drop]

Needs PostgreSQL. Loads N orders with INSERT … SELECT generate_series (half a
million rows per statement; kept for the next run, which reuses them when the
count matches; --drop removes them at the end), spread over a year, 70 %
delivered. Then:

- the list page (the real view, rendered, called as a superuser),
  filtered by status and a 30-day date range, newest and a year back: server
  time p50/p95 over --runs requests, and the number of queries at 20 and at
  100 rows per page (they must be equal);
- the Excel export of the newest --export-rows delivered orders (a status and
  date filter chosen to select that many), run as the Celery task's body in this
  process: seconds, rows/s, and peak memory as the growth of the process's
  peak resident set (resource.getrusage ru_maxrss) during the export.

Targets: list under 200 ms, query count constant in page size; export of
100,000 orders under 30 s and under 200 MB.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import time
import tracemalloc
from datetime import timedelta
from decimal import Decimal

from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.db.models import Min
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bench.processes import require_postgres
from bench.registry import benchmark, percentile
from bench.schema import insert_columns, table
from catalog.models import Category, Product, Sku
from kameng import crypto
from kameng.fields import blind_index
from orders.models import Order, OrderExport
from orders.workbench import export_in_language, export_path
from orders.workbench_views import workbench as workbench_page
from users.models import User

PREFIX = "BENCHWB"  # order numbers PREFIX + 12 digits: one index range
CHUNK = 500_000
SLUG = "bench-workbench"
SPAN_DAYS = 365
# Statuses by g % 20: 14 of 20 delivered, one each of the rest.
STATUS_CASE = (
    "CASE WHEN g %% 20 < 14 THEN 'delivered' "
    "WHEN g %% 20 = 14 THEN 'paid' WHEN g %% 20 = 15 THEN 'failed' "
    "WHEN g %% 20 = 16 THEN 'refunded' WHEN g %% 20 = 17 THEN 'cancelled' "
    "WHEN g %% 20 = 18 THEN 'pending_payment' ELSE 'after_sales' END"
)
_order_columns = insert_columns(
    Order,
    "order_no",
    "contact",
    "contact_index",
    "lookup_password",
    "sku",
    "quantity",
    "unit_price",
    "amount",
    "refunded_amount",
    "price_breakdown",
    "recharge_account",
    "recharge_account_index",
    "delivery",
    "status",
    "payment_method",
    "flag",
    "created_at",
    "updated_at",
)
# Row g is g * step seconds older than `newest`: newest first is g ascending.
INSERT_ORDERS = f"""
    INSERT INTO {table(Order)} ({_order_columns})
    SELECT %(prefix)s || lpad(g::text, 12, '0'),
           (%(contacts)s::text[])[1 + g %% %(cycle)s],
           (%(contact_digests)s::text[])[1 + g %% %(cycle)s], '', %(sku)s,
           1 + g %% 3, 10.00 + (g %% 90), (1 + g %% 3) * (10.00 + (g %% 90)), 0,
           '{{}}'::jsonb,
           CASE WHEN g %% 7 = 0 THEN (%(accounts)s::text[])[1 + g %% %(cycle)s]
                ELSE '' END,
           CASE WHEN g %% 7 = 0 THEN jsonb_build_array(
                (%(account_digests)s::text[])[1 + g %% %(cycle)s]) ELSE '[]'::jsonb END,
           '{{}}'::jsonb, {STATUS_CASE},
           CASE WHEN g %% 3 = 0 THEN 'gateway' ELSE 'wallet' END,
           CASE WHEN g %% 97 = 0 THEN 'supplier_failure' ELSE '' END,
           %(newest)s - make_interval(secs => g * %(step)s),
           %(newest)s - make_interval(secs => g * %(step)s)
    FROM generate_series(%(start)s, %(stop)s) AS g
"""
BENCH_RANGE = f"{table(Order)} WHERE order_no >= %s AND order_no < %s"
# Contacts and recharge accounts are encrypted at rest (kameng.fields): the rows
# cycle through CYCLE guest contacts and accounts encrypted here once, so the
# export decrypts real tokens, as it does in a running shop.
CYCLE = 1000


def _sealed_values() -> dict:
    contacts = [f"buyer{n}@example.com" for n in range(CYCLE)]
    phones = [f"138{n:08d}" for n in range(CYCLE)]
    return {
        "cycle": CYCLE,
        "contacts": [crypto.encrypt(text) for text in contacts],
        "contact_digests": [blind_index(text) for text in contacts],
        "accounts": [crypto.encrypt(json.dumps({"phone": p})) for p in phones],
        "account_digests": [blind_index(p) for p in phones],
    }


def _bench_orders() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {BENCH_RANGE}", [PREFIX, PREFIX + "~"])
        return cursor.fetchone()[0]


def _drop_orders(stdout) -> None:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {BENCH_RANGE}", [PREFIX, PREFIX + "~"])
    stdout.write(
        f"removed earlier bench orders in {time.perf_counter() - started:.0f} s"
    )


def _fixture_sku() -> Sku:
    category, _ = Category.objects.get_or_create(slug=SLUG, defaults={"name": SLUG})
    product, _ = Product.objects.get_or_create(category=category, name=SLUG)
    sku, _ = Sku.objects.get_or_create(
        code="BENCH-WORKBENCH",
        defaults={
            "product": product,
            "name": "面值 10",
            "delivery_type": Sku.DeliveryType.CARD,
            "stock_mode": Sku.StockMode.UNLIMITED,
            "price": Decimal("10.00"),
            "cost_price": Decimal("9.00"),
        },
    )
    return sku


def load_bench_orders(orders: int, stdout, *, before_others: bool = False) -> float:
    """Load `orders` bench orders unless exactly that many are there; seconds.
    `before_others`: the newest is a day older than every other order (a
    generated history), so a date range can select bench orders alone."""
    if _bench_orders() == orders:
        stdout.write(f"reusing {orders} bench orders")
        return 0.0
    _drop_orders(stdout)
    sku = _fixture_sku()
    newest = timezone.now()
    if before_others:
        oldest = Order.objects.aggregate(oldest=Min("created_at"))["oldest"]
        if oldest is not None:
            newest = min(newest, oldest - timedelta(days=1))
    step = SPAN_DAYS * 86400 / orders
    started = time.perf_counter()
    sealed = _sealed_values()
    for start in range(1, orders + 1, CHUNK):
        stop = min(start + CHUNK - 1, orders)
        with connection.cursor() as cursor:
            cursor.execute(
                INSERT_ORDERS,
                {
                    "prefix": PREFIX,
                    "sku": sku.pk,
                    "newest": newest,
                    "step": step,
                    "start": start,
                    "stop": stop,
                    **sealed,
                },
            )
        stdout.write(f"  {stop} orders loaded ({time.perf_counter() - started:.0f} s)")
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {table(Order)}")
    return time.perf_counter() - started


def bench_staff() -> User:
    user, created = User.objects.get_or_create(
        username="bench-workbench",
        defaults={"is_staff": True, "is_superuser": True},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _get(user, query: dict):
    """The workbench view itself (rendered), as a logged-in superuser: server
    time without the network and the login middleware stack."""
    request = RequestFactory().get(reverse("orders:workbench"), query)
    request.user = user
    request.session = SessionStore()
    response = workbench_page(request)
    response.render()
    return response


def _list_timing(user, query: dict, runs: int) -> dict:
    times, db_times = [], []
    for _run in range(runs + 1):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = _get(user, query)
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"workbench answered {response.status_code}")
        times.append(elapsed)
        db_times.append(sum(float(q["time"]) for q in captured.captured_queries))
    times, db_times = times[1:], db_times[1:]  # the first warms caches
    return {
        "rows": _rows(response),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": percentile(times, 0.95),
        "db_p50_ms": round(statistics.median(db_times) * 1000, 1),
    }


def _rows(response) -> int:
    return response.content.decode().count('data-testid="workbench-row"')


def _queries(user, query: dict, per_page: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = _get(user, {**query, "per_page": per_page})
    if _rows(response) != per_page:
        raise RuntimeError("not enough bench orders for a full page")
    return len(captured)


def export_window(rows: int) -> tuple[str, str]:
    """A date range of whole days whose delivered bench orders are at least
    `rows` (newest first, from the day of the `rows`-th one to the newest's)."""
    bench = Order.objects.filter(
        order_no__gte=PREFIX, order_no__lt=PREFIX + "~", status="delivered"
    ).order_by("-created_at", "-id")
    last = bench.values_list("created_at", flat=True).first() or timezone.now()
    newest = timezone.localtime(last).date()
    edge = bench.values_list("created_at", flat=True)[rows - 1 : rows].first()
    if edge is None:
        start = newest - timedelta(days=SPAN_DAYS + 1)
    else:
        start = timezone.localtime(edge).date()
    return start.isoformat(), newest.isoformat()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_export(*, user, rows: int, trace_memory: bool = False) -> dict:
    """The workbench's Excel export of the newest `rows` delivered bench orders,
    run as the Celery task's body in this process: seconds, CPU, peak memory
    (growth of the process's peak resident set) and file size."""
    start, end = export_window(rows)
    export = OrderExport.objects.create(
        requested_by=user,
        criteria={"status": "delivered", "created_from": start, "created_to": end},
        with_cost=True,
    )
    rss_before = peak_rss_mb()
    cpu_started = time.process_time()
    started = time.perf_counter()
    export = export_in_language(export_id=export.pk)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    rss_growth = peak_rss_mb() - rss_before
    if export.status != OrderExport.Status.DONE:
        raise RuntimeError(f"export ended {export.status}: {export.failure}")
    size_mb = export_path(export).stat().st_size / 1e6
    export_path(export).unlink()
    export.delete()
    traced_mb = None
    if trace_memory:  # the same export again, every Python allocation traced
        again = OrderExport.objects.create(
            requested_by=user, criteria=export.criteria, with_cost=True
        )
        tracemalloc.start()
        again = export_in_language(export_id=again.pk)
        traced_mb = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        export_path(again).unlink()
        again.delete()
    return {
        "export_rows": export.rows_written,
        "export_seconds": round(seconds, 2),
        "export_rows_per_second": round(export.rows_written / seconds),
        "export_cpu_seconds": round(cpu_seconds, 2),
        "export_peak_memory_mb": round(rss_growth, 1),
        "export_file_mb": round(size_mb, 1),
        "memory_method": "ru_maxrss growth during the export",
        "export_tracemalloc_peak_mb": round(traced_mb, 1) if traced_mb else None,
    }


@benchmark(
    "workbench",
    help="Order workbench over N orders: the list filtered by status and date "
    "(ms, queries by page size) and the Excel export of 100k orders (s, MB).",
    arguments=[
        ("--orders", {"type": int, "default": 5_000_000}),
        ("--export-rows", {"type": int, "default": 100_000}),
        ("--runs", {"type": int, "default": 15}),
        ("--drop", {"action": "store_true", "help": "remove the bench orders"}),
        (
            "--trace-memory",
            {"action": "store_true", "help": "export again under tracemalloc"},
        ),
    ],
)
def workbench(
    *,
    orders: int,
    export_rows: int,
    runs: int,
    drop: bool,
    trace_memory: bool,
    stdout,
) -> dict:
    require_postgres()
    load_seconds = load_bench_orders(orders, stdout)
    user = bench_staff()
    today = timezone.localtime(timezone.now()).date()
    recent = {
        "status": "delivered",
        "created_from": (today - timedelta(days=30)).isoformat(),
        "created_to": today.isoformat(),
    }
    year_back = {
        "status": "paid",
        "created_from": (today - timedelta(days=330)).isoformat(),
        "created_to": (today - timedelta(days=300)).isoformat(),
    }
    list_recent = _list_timing(user, {**recent, "per_page": 50}, runs)
    list_old = _list_timing(user, {**year_back, "per_page": 50}, runs)
    queries = {size: _queries(user, recent, size) for size in (20, 100)}
    stdout.write(f"list: {list_recent} / a year back: {list_old}; queries {queries}")

    export = measure_export(user=user, rows=export_rows, trace_memory=trace_memory)
    if drop:
        _drop_orders(stdout)
    return {
        "database": connection.vendor,
        "orders": orders,
        "load_seconds": round(load_seconds, 1),
        "list_rows": list_recent["rows"],
        "list_p50_ms": list_recent["p50_ms"],
        "list_p95_ms": list_recent["p95_ms"],
        "list_db_p50_ms": list_recent["db_p50_ms"],
        "list_year_back_p50_ms": list_old["p50_ms"],
        "list_year_back_p95_ms": list_old["p95_ms"],
        "list_year_back_db_p50_ms": list_old["db_p50_ms"],
        "queries_20_rows": queries[20],
        "queries_100_rows": queries[100],
        **export,
        "load_average": round(os.getloadavg()[0], 1),
        "target": "list < 200 ms, queries equal; 100k export < 30 s, < 200 MB",
    }
