"""Benchmark: the nightly segmentation, and what tracking adds to a shop page.

    python manage.py bench segments [--buyers 1000000 --orders 10000000] [--days 365]
                                    [--no-generate]

Loads a synthetic history (bench.history, COPY on PostgreSQL) unless told not
to, then times marketing's nightly run (RFM quintiles + every segment's
members, built-in and custom: the steps of marketing.services.refresh_segments,
each timed) and reports the process's peak memory; then
times users.tracking's recording of one product view, as a shop page does it.
"""

from __future__ import annotations

import resource
import statistics
import time

from django.db import connection, transaction

from bench.history import generate
from bench.registry import benchmark, percentile
from marketing.models import Segment
from marketing.services import refresh_segment, score_rfm
from users.models import ProductView, User
from users.tracking import record_product_view

VIEWS_TIMED = 2000


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def time_tracking(*, samples: int) -> dict:
    """One product view recorded the way the shop's product page records it."""
    buyer = User.objects.filter(is_staff=False).order_by("-pk").first()
    product_id = 1
    timings = []
    for _ in range(samples):
        began = time.perf_counter()
        record_product_view(user=buyer, product_id=product_id)
        timings.append((time.perf_counter() - began) * 1000)
    # The same write inside a transaction: the statement and its savepoint
    # without the commit's flush to disk (what the page adds when it commits
    # other work anyway; the figure above includes a commit of its own).
    inside = []
    with transaction.atomic():
        for _ in range(samples):
            began = time.perf_counter()
            record_product_view(user=buyer, product_id=product_id)
            inside.append((time.perf_counter() - began) * 1000)
    ProductView.objects.filter(user=buyer, product_id=product_id).delete()
    return {
        "tracking_ms_mean": round(statistics.fmean(timings), 3),
        "tracking_ms_p50": percentile(timings, 0.50),
        "tracking_ms_p95": percentile(timings, 0.95),
        "tracking_ms_in_transaction_p50": percentile(inside, 0.50),
        "tracking_ms_in_transaction_p95": percentile(inside, 0.95),
    }


@benchmark(
    "segments",
    help="Nightly RFM + segments on a synthetic history; tracking cost per view.",
    arguments=[
        ("--buyers", {"type": int, "default": 1_000_000}),
        ("--orders", {"type": int, "default": 10_000_000}),
        ("--days", {"type": int, "default": 365}),
        ("--no-generate", {"action": "store_true"}),
    ],
)
def segments(*, buyers: int, orders: int, days: int, no_generate: bool, stdout) -> dict:
    figures = {"vendor": connection.vendor}
    if not no_generate:
        report = generate(
            buyers=buyers, orders=orders, days=days, say=lambda m: stdout.write(m)
        )
        figures["generate_seconds"] = report.seconds
    rss_before = peak_rss_mb()
    began = time.perf_counter()
    steps = {}
    with connection.cursor():  # one connection, as the nightly task has
        mark = time.perf_counter()
        figures["scored_buyers"] = score_rfm()
        steps["rfm"] = round(time.perf_counter() - mark, 2)
        for segment in Segment.objects.order_by("pk"):
            mark = time.perf_counter()
            refresh_segment(segment=segment)
            steps[segment.name] = round(time.perf_counter() - mark, 2)
    figures["segments_seconds"] = round(time.perf_counter() - began, 2)
    figures["step_seconds"] = steps
    figures["peak_rss_mb"] = peak_rss_mb()
    figures["peak_rss_mb_before"] = rss_before
    figures["segments"] = {
        segment.name: segment.member_count for segment in Segment.objects.all()
    }
    figures.update(time_tracking(samples=VIEWS_TIMED))
    for line in (
        f"nightly segmentation: {figures['segments_seconds']} s "
        f"({figures['scored_buyers']} buyers scored), "
        f"peak RSS {figures['peak_rss_mb']} MB",
        f"tracking one product view: mean {figures['tracking_ms_mean']} ms, "
        f"p95 {figures['tracking_ms_p95']} ms",
    ):
        stdout.write(line)
    return figures
