"""Benchmarks: shop recommendations, and the sales rollups' incremental refresh.

    python manage.py bench recommendations [--buyers 100000 --orders 1000000]
                                           [--days 365] [--no-generate]
    python manage.py bench rollup_refresh [--new-orders 10000] [--no-generate]
                                          [--no-rebuild] ...

`recommendations` times the nightly bought-together rebuild (one statement) and
one shop page's read of a buyer's recommendations. `rollup_refresh` rebuilds
every rollup once, then adds `--new-orders` paid orders and times the
incremental refresh that brings the rollups level with them (issue 14);
`--no-rebuild` keeps the rollups as they are (rebuilt beforehand with
`rebuild_rollups --since`) and counts only orders changed from now on.
Both load a synthetic history (bench.history) unless told not to.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import timedelta

from django.core.management import CommandError
from django.db import connection
from django.utils import timezone

from analytics.models import SalesRollup
from analytics.rollups import (
    mark_rollups_current,
    rebuild_rollups,
    refresh_rollups,
)
from bench.history import generate
from bench.registry import benchmark, percentile
from orders.models import CoPurchase, Order
from orders.recommendations import compute_co_purchases, recommendations_for
from users.models import ProductView, User

READS_TIMED = 500
HISTORY_ARGUMENTS = [
    ("--buyers", {"type": int, "default": 100_000}),
    ("--orders", {"type": int, "default": 1_000_000}),
    ("--days", {"type": int, "default": 365}),
    ("--no-generate", {"action": "store_true"}),
]


def load_history(*, buyers, orders, days, no_generate, stdout, figures) -> None:
    figures["vendor"] = connection.vendor
    if not no_generate:
        report = generate(
            buyers=buyers, orders=orders, days=days, say=lambda m: stdout.write(m)
        )
        figures["generate_seconds"] = report.seconds
    figures["orders_in_database"] = Order.objects.count()


@benchmark(
    "recommendations",
    help="Nightly bought-together rebuild; one shop page's recommendation read.",
    arguments=HISTORY_ARGUMENTS,
)
def recommendations(*, buyers, orders, days, no_generate, stdout) -> dict:
    figures: dict = {}
    load_history(
        buyers=buyers,
        orders=orders,
        days=days,
        no_generate=no_generate,
        stdout=stdout,
        figures=figures,
    )
    began = time.perf_counter()
    figures["pairs"] = compute_co_purchases()
    figures["co_purchase_seconds"] = round(time.perf_counter() - began, 2)
    viewer = (
        User.objects.filter(pk__in=ProductView.objects.values("user_id")[:1]).first()
        or User.objects.filter(is_staff=False).first()
    )
    product_id = CoPurchase.objects.values_list("product_id", flat=True).first()
    timings = []
    for _ in range(READS_TIMED):
        began = time.perf_counter()
        recommendations_for(user=viewer, product_id=product_id)
        timings.append((time.perf_counter() - began) * 1000)
    figures["read_ms_mean"] = round(statistics.fmean(timings), 3)
    figures["read_ms_p50"] = percentile(timings, 0.50)
    figures["read_ms_p95"] = percentile(timings, 0.95)
    stdout.write(
        f"bought together: {figures['pairs']} pairs in "
        f"{figures['co_purchase_seconds']} s; a page's read p95 "
        f"{figures['read_ms_p95']} ms"
    )
    return figures


def add_paid_orders(count: int, *, rng: random.Random) -> None:
    """`count` orders paid within the last hour, copied from existing ones."""
    now = timezone.now()
    models = list(
        Order.objects.filter(paid_at__isnull=False, buyer__isnull=False)
        .only("buyer_id", "sku_id", "unit_price", "quantity", "amount")
        .order_by("-id")[:1000]
    )
    if not models:
        raise CommandError("No paid orders to copy: load a history first.")
    run = f"{int(time.time()) % 100000:05d}"
    Order.objects.bulk_create(
        (
            Order(
                order_no=f"R{run}{number:09d}",
                buyer_id=model.buyer_id,
                sku_id=model.sku_id,
                quantity=model.quantity,
                unit_price=model.unit_price,
                amount=model.amount,
                status=Order.Status.DELIVERED,
                payment_method=Order.PaymentMethod.WALLET,
                paid_at=now - timedelta(seconds=rng.randrange(3600)),
            )
            for number, model in enumerate(rng.choices(models, k=count))
        ),
        batch_size=5000,
    )


@benchmark(
    "rollup_refresh",
    help="The sales rollups' incremental refresh after N new paid orders.",
    arguments=[
        *HISTORY_ARGUMENTS,
        ("--new-orders", {"type": int, "default": 10_000}),
        ("--no-rebuild", {"action": "store_true"}),
    ],
)
def rollup_refresh(
    *, buyers, orders, days, no_generate, new_orders, no_rebuild, stdout
) -> dict:
    figures: dict = {}
    load_history(
        buyers=buyers,
        orders=orders,
        days=days,
        no_generate=no_generate,
        stdout=stdout,
        figures=figures,
    )
    first = Order.objects.filter(paid_at__isnull=False).order_by("paid_at").first()
    mark_rollups_current()  # the rebuild below counts everything changed so far
    began = time.perf_counter()
    if first is not None and not no_rebuild:
        figures["rollup_rows"] = rebuild_rollups(
            since=timezone.localdate(first.paid_at) - timedelta(days=1)
        )
    figures["rebuild_seconds"] = round(time.perf_counter() - began, 2)
    add_paid_orders(new_orders, rng=random.Random(14))
    began = time.perf_counter()
    days = refresh_rollups()
    figures["refresh_ms"] = round((time.perf_counter() - began) * 1000, 1)
    figures["days_rebuilt"] = len(days)
    figures["new_orders"] = new_orders
    figures["load_average"] = round(os.getloadavg()[0], 1)
    figures["rollup_rows_after"] = SalesRollup.objects.count()
    stdout.write(
        f"rollups: rebuilt in {figures['rebuild_seconds']} s; refresh after "
        f"{new_orders} new orders: {figures['refresh_ms']} ms"
    )
    return figures
