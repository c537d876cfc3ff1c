"""Benchmark: what the worker spends announcing one sale (order_paid).

    python manage.py bench announce_paid [--orders 300] [--campaign on|off]
                             [--wrap none|transaction|scope|drain] [--profile]

After every sale the Celery worker runs `orders.transitions.announce(
events.order_paid, kwargs)`: growth and the member level (users.levels), the
category count, the first-order coupon, referral and points (marketing). One
buyer with history buys card codes with the wallet (orders.checkout.
buy_with_wallet; the announcement's Celery message goes to a queue of this
bench's own, emptied afterwards, so no worker sees it), then each order's
announcement is run here, timed with the CPU clock and its SQL statements
counted. `--campaign on` switches the first-order coupon campaign on (a
template of the bench's own), as a shop that runs it; `off` leaves it off.
`--wrap transaction` runs each announcement in one transaction, as the
outbox's drain does (each receiver's atomic block is then a savepoint);
`scope` also opens kameng.process_cache.scope() around it. `--wrap drain`
announces them as the worker does: the sales' outbox rows drained by
orders.paid_outbox (claims, deletions and transactions included; the
statements counted are those the drain sends, not psycopg's BEGIN/COMMIT).

Runs with DEBUG off, as the worker does (a DEBUG=true environment is run again
in a child process with DEBUG=false). `--profile` prints the cProfile (CPU
clock) of the measured announcements; the CPU figures then include the
profiler's overhead.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import time
from contextlib import contextmanager
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction

from bench.checkout import _checkout_fixture
from bench.processes import (
    StatementCounter,
    purge_own_queue,
    require_full_stack,
    run_child_bench,
)
from bench.registry import benchmark
from kameng import events
from kameng.process_cache import scope
from marketing.campaigns import ensure_campaigns, save_campaign
from marketing.models import CouponCampaign, CouponTemplate
from orders.checkout import buy_with_wallet
from orders.models import PaidAnnouncement
from orders.paid_outbox import drain_paid_announcements
from orders.transitions import announce

CHILD_MARK = "KAMENG_BENCH_ANNOUNCE_PAID_CHILD"
TEMPLATE_NAME = "Bench first order"


def _in_child(argv: list[str]) -> dict:
    # No page is rendered: production_env's collectstatic is not needed.
    env = {
        **os.environ,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        CHILD_MARK: "1",
        "KAMENG_CELERY_EAGER": "false",
        "CELERY_QUEUE": f"bench-announce-paid-{os.getpid()}",
    }
    return run_child_bench("announce_paid", argv, env)


def _set_campaign(state: str) -> None:
    """The first-order campaign on with the bench's template, or off."""
    ensure_campaigns()
    campaign = CouponCampaign.objects.get(kind=CouponCampaign.Kind.FIRST_ORDER)
    if state == "on":
        template, _created = CouponTemplate.objects.get_or_create(
            name=TEMPLATE_NAME,
            defaults={
                "kind": CouponTemplate.Kind.NO_THRESHOLD,
                "amount": Decimal("1.00"),
                "valid_days": 30,
            },
        )
        campaign.template = template
    campaign.enabled = state == "on"
    save_campaign(campaign=campaign)


@contextmanager
def _wrapped(wrap: str):
    if wrap == "none":
        yield
        return
    with transaction.atomic():
        if wrap == "scope":
            with scope():
                yield
        else:
            yield


def _announce_each(announcements, warmup, wrap, counter, profiler):
    spent = 0.0
    statements = 0
    for n, kwargs in enumerate(announcements):
        measured = n >= warmup
        counted = counter.statements
        if measured and profiler:
            profiler.enable()
        begun = time.process_time()
        with _wrapped(wrap):
            announce(events.order_paid, kwargs)
        if measured:
            spent += time.process_time() - begun
            statements += counter.statements - counted
        if measured and profiler:
            profiler.disable()
    return spent, statements, len(announcements) - warmup


def _drain(announcements, warmup, wrap, counter, profiler):
    """The sales' outbox rows drained: the oldest `warmup` first, unmeasured."""
    drain_paid_announcements(batch=warmup, max_batches=1)
    waiting = PaidAnnouncement.objects.count()
    counted = counter.statements
    if profiler:
        profiler.enable()
    begun = time.process_time()
    drained = drain_paid_announcements(max_batches=waiting)
    spent = time.process_time() - begun
    if profiler:
        profiler.disable()
    if drained.announced != waiting or drained.more:
        raise RuntimeError(f"{waiting} rows waited; the drain announced {drained}")
    return spent, counter.statements - counted, waiting


@benchmark(
    "announce_paid",
    help="CPU ms and SQL statements per order_paid announcement in the worker "
    "(growth, category count, first-order coupon, referral, points), DEBUG off.",
    arguments=[
        ("--orders", {"type": int, "default": 300}),
        ("--warmup", {"type": int, "default": 20}),
        ("--campaign", {"choices": ["on", "off"], "default": "on"}),
        # how the worker wraps each announcement: nothing (the task sends it),
        # one transaction (the outbox's drain), or that and a scope in which
        # stamps and module switches are read once (kameng.process_cache)
        # (or the outbox's drain itself: claims, deletions, its transactions)
        (
            "--wrap",
            {"choices": ["none", "transaction", "scope", "drain"], "default": "none"},
        ),
        ("--profile", {"action": "store_true"}),
        ("--top", {"type": int, "default": 40}),
    ],
)
def announce_paid(*, orders, warmup, campaign, wrap, profile, top, stdout) -> dict:
    require_full_stack()
    if settings.DEBUG or not os.environ.get(CHILD_MARK):
        argv = [
            f"--orders={orders}",
            f"--warmup={warmup}",
            f"--campaign={campaign}",
            f"--wrap={wrap}",
            f"--top={top}",
        ]
        return _in_child(argv + (["--profile"] if profile else []))
    _set_campaign(campaign)
    sku, (buyer,) = _checkout_fixture(buyers=1, codes=orders + warmup + 10)
    category_id = sku.product.category_id
    announcements = []
    try:
        for _n in range(warmup + orders):
            order = buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
            announcements.append(
                {
                    "order_id": order.pk,
                    "buyer_id": buyer.pk,
                    "amount": order.amount,
                    "payment_method": order.payment_method,
                    "category_id": category_id,
                }
            )
    finally:
        purge_own_queue()
    counter = StatementCounter()
    profiler = cProfile.Profile(time.process_time)  # CPU, not waits
    measure = _drain if wrap == "drain" else _announce_each
    with connection.execute_wrapper(counter):
        spent, statements, orders = measure(
            announcements, warmup, wrap, counter, profiler if profile else None
        )
    if profile:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        stdout.write(out.getvalue())
    return {
        "orders": orders,
        "campaign": campaign,
        "wrap": wrap,
        "debug": settings.DEBUG,
        "profiled": profile,
        "cpu_ms_per_announcement": round(spent * 1000 / orders, 3),
        "statements_per_announcement": round(statements / orders, 2),
    }
