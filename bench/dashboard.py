"""Benchmark: the dashboard's 30-day view (the back-office home).

    python manage.py bench dashboard [--buyers 20000 --orders 300000]
                                     [--days 90] [--runs 5] [--no-generate]
                                     [--no-rebuild] [--raw-runs N]

Loads a synthetic history (bench.history) unless told not to, rebuilds the
sales rollups, then renders the admin index (Unfold's dashboard callback:
KPIs of this and the previous 30 days, the charts, the funnel) as a super
admin, in process (server time without the network), `--runs` times after one
warm-up. The same page is then rendered with every sales figure read from raw
orders (analytics.dashboard.Sales(raw=True)) `--raw-runs` times (default
`--runs`; 0 skips it; no warm-up of its own) and the ratio printed: what the
rollups save.
`--no-rebuild` keeps the rollups as they are (a large history rebuilt
beforehand with `rebuild_rollups --since`: rebuilding a year of 10,000,000
orders here takes most of an hour). The issue's target is under 300 ms at
10,000,000 orders.
"""

from __future__ import annotations

import os
import statistics
import time
from functools import partial

from django.contrib import admin
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics import dashboard_views
from analytics.dashboard import Sales, period_figures
from analytics.models import SalesRollup
from analytics.rollups import mark_rollups_current, rebuild_rollups
from bench.history import generate
from bench.registry import benchmark, percentile
from kameng import modules
from orders.models import Order
from users.models import User


def bench_admin() -> User:
    user, created = User.objects.get_or_create(
        username="bench-dashboard",
        defaults={"is_staff": True, "is_superuser": True},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def render_home(user) -> tuple[float, float, int]:
    """One render of /admin/?period=30d: (server ms, SQL ms, statements)."""
    request = RequestFactory().get("/admin/", {"period": "30d"})
    request.user = user
    request.session = SessionStore()
    # As kameng.middleware does for every request: the module switches are
    # read once per request, not once per menu entry that asks.
    with CaptureQueriesContext(connection) as captured, modules.request_scope():
        began = time.perf_counter()
        response = admin.site.index(request)
        response.render()
        elapsed = (time.perf_counter() - began) * 1000
    if response.status_code != 200 or b'data-testid="kpi-dashboard"' not in (
        response.content
    ):
        raise RuntimeError(f"the dashboard answered {response.status_code}")
    sql = sum(float(query["time"]) for query in captured.captured_queries) * 1000
    return elapsed, sql, len(captured)


def timed(user, runs: int, *, warm_up: bool = True) -> dict:
    if warm_up:  # caches, connections, templates
        render_home(user)
    samples = [render_home(user) for _ in range(runs)]
    times = [sample[0] for sample in samples]
    return {
        "p50_ms": round(statistics.median(times), 1),
        "max_ms": percentile(times, 1.0),
        "sql_p50_ms": round(statistics.median(sample[1] for sample in samples), 1),
        "statements": samples[-1][2],
    }


@benchmark(
    "dashboard",
    help="The dashboard's 30-day view: server time over the rollups and over raw "
    "orders.",
    arguments=[
        ("--buyers", {"type": int, "default": 20_000}),
        ("--orders", {"type": int, "default": 300_000}),
        ("--days", {"type": int, "default": 90}),
        ("--runs", {"type": int, "default": 5}),
        ("--no-generate", {"action": "store_true"}),
        ("--no-rebuild", {"action": "store_true"}),
        ("--raw-runs", {"type": int, "default": None}),
    ],
)
def dashboard(
    *, buyers, orders, days, runs, no_generate, no_rebuild, raw_runs, stdout
) -> dict:
    figures: dict = {"vendor": connection.vendor}
    if not no_generate:
        report = generate(
            buyers=buyers, orders=orders, days=days, say=lambda m: stdout.write(m)
        )
        figures["generate_seconds"] = report.seconds
    figures["orders_in_database"] = Order.objects.count()
    first = Order.objects.filter(paid_at__isnull=False).order_by("paid_at").first()
    if not no_rebuild:
        mark_rollups_current()
        began = time.perf_counter()
        if first is not None:
            rebuild_rollups(since=timezone.localdate(first.paid_at))
        figures["rollup_rebuild_seconds"] = round(time.perf_counter() - began, 2)
    figures["rollup_rows"] = SalesRollup.objects.count()
    user = bench_admin()
    figures["rollups"] = timed(user, runs)
    figures["load_average"] = round(os.getloadavg()[0], 1)
    raw_runs = runs if raw_runs is None else raw_runs
    if raw_runs < 1:
        stdout.write(
            f"dashboard 30 d at {figures['orders_in_database']} orders: "
            f"{figures['rollups']['p50_ms']} ms from the rollups (raw not run)"
        )
        return figures
    real_sales, real_figures = dashboard_views.Sales, dashboard_views.period_figures
    dashboard_views.Sales = partial(Sales, raw=True)
    dashboard_views.period_figures = partial(period_figures, raw=True)
    try:
        # The rollups' renders warmed what is shared; a raw render of a large
        # history takes minutes, a warm-up would only double it.
        figures["raw_orders"] = timed(user, raw_runs, warm_up=False)
    finally:
        dashboard_views.Sales, dashboard_views.period_figures = real_sales, real_figures
    figures["raw_over_rollups"] = round(
        figures["raw_orders"]["p50_ms"] / figures["rollups"]["p50_ms"], 2
    )
    stdout.write(
        f"dashboard 30 d at {figures['orders_in_database']} orders: "
        f"{figures['rollups']['p50_ms']} ms from the rollups, "
        f"{figures['raw_orders']['p50_ms']} ms from raw orders "
        f"(× {figures['raw_over_rollups']})"
    )
    return figures
