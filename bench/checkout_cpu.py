"""Benchmark: what one card purchase costs this process, request by request.

    python manage.py bench checkout_cpu [--purchases 300] [--profile post|page]
                                        [--flow htmx|redirect]

One logged-in buyer buys one code over and over through Django's test client
(the whole middleware stack, CSRF enforced, the announcement's outbox row and
wake-up as in production: a Celery queue of its own, emptied afterwards with
the rows, since no worker runs), as bench checkout's buyers do: by default one
htmx POST answered with the order page; with `--flow redirect` the POST, then
the order page it redirects to, reported apart. Reports CPU ms and SQL
statements per purchase.
`bench checkout` measures the same through the web server under load, where the
machine's other work swamps the figures; this one is for comparing two trees.

Runs with DEBUG off, as production does (a DEBUG=true environment is run again
in a child process with DEBUG=false). `--profile` prints the cProfile of one of
the two requests (its CPU figures then include the profiler's overhead).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import re
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from bench.checkout import FLOWS, _checkout_fixture
from bench.processes import (
    StatementCounter,
    production_env,
    purge_own_queue,
    require_full_stack,
    run_child_bench,
)
from bench.registry import benchmark
from orders.models import Order, PaidAnnouncement

CHILD_MARK = "KAMENG_BENCH_CHECKOUT_CPU_CHILD"
FORM = "application/x-www-form-urlencoded"
HTMX = {"HX-Request": "true"}


def _in_child(argv: list[str]) -> dict:
    env = production_env(
        **{CHILD_MARK: "1"},
        KAMENG_CELERY_EAGER="false",
        CELERY_QUEUE=f"bench-checkout-cpu-{os.getpid()}",
    )
    return run_child_bench("checkout_cpu", argv, env)


def _forget_announcements(sku) -> None:
    """No worker runs here: the queue's messages (the announcements' wake-ups)
    are purged and the sales' announcements dropped, or the next bench's worker
    would announce them all inside its measured window."""
    purge_own_queue()
    PaidAnnouncement.objects.filter(
        order_id__in=Order.objects.filter(sku=sku).values("pk")
    ).delete()


@benchmark(
    "checkout_cpu",
    help="CPU ms and SQL statements per card purchase in process (test client, "
    "whole middleware stack, DEBUG off): the buy POST and the order page apart.",
    arguments=[
        ("--purchases", {"type": int, "default": 300}),
        ("--warmup", {"type": int, "default": 30}),
        ("--profile", {"choices": ["none", "post", "page"], "default": "none"}),
        ("--top", {"type": int, "default": 40}),
        ("--flow", {"choices": FLOWS, "default": "htmx"}),
    ],
)
def checkout_cpu(*, purchases, warmup, profile, top, flow, stdout) -> dict:
    require_full_stack()
    if settings.DEBUG or not os.environ.get(CHILD_MARK):
        return _in_child(
            [
                f"--purchases={purchases}",
                f"--warmup={warmup}",
                f"--profile={profile}",
                f"--top={top}",
                f"--flow={flow}",
            ]
        )
    sku, (buyer,) = _checkout_fixture(buyers=1, codes=purchases + warmup + 10)
    client = Client(
        enforce_csrf_checks=True, REMOTE_ADDR="127.0.0.1", HTTP_HOST="127.0.0.1"
    )
    client.get("/shop/login/")
    client.post(
        "/shop/login/",
        {
            "username": buyer.username,
            "password": "bench-password",
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        },
    )
    path = f"/shop/p/{sku.product_id}/?sku={sku.pk}"
    counter = StatementCounter()
    profiler = cProfile.Profile(time.process_time)  # CPU, not waits
    spent = {"post": 0.0, "page": 0.0}
    statements = {"post": 0, "page": 0}

    def timed(kind, measured, call, *args, **kwargs):
        if not measured:
            return call(*args, **kwargs)
        counted = counter.statements
        if profile == kind:
            profiler.enable()
        begun = time.process_time()
        response = call(*args, **kwargs)
        spent[kind] += time.process_time() - begun
        if profile == kind:
            profiler.disable()
        statements[kind] += counter.statements - counted
        return response

    try:
        with connection.execute_wrapper(counter):
            for n in range(warmup + purchases):
                measured = n >= warmup
                # form-encoded, as a browser posts it (the client's default
                # is multipart)
                data = urlencode(
                    {
                        "quantity": "1",
                        "payment": "wallet",
                        "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
                    }
                )
                if flow == "htmx":  # the POST's answer is the order page
                    page = timed(
                        "post", measured, client.post, path, data, FORM, headers=HTMX
                    )
                    if not page.get("HX-Push-Url", "").startswith("/shop/orders/"):
                        raise CommandError(f"no order page: {page}")
                else:
                    response = timed("post", measured, client.post, path, data, FORM)
                    location = response.get("Location", "")
                    if response.status_code != 302 or not location.startswith(
                        "/shop/orders/"
                    ):
                        raise CommandError(f"no redirect to the order: {response}")
                    page = timed("page", measured, client.get, location)
                if not re.search(rb"<li><code>BENCH-", page.content):
                    raise CommandError("order page without the code")
    finally:
        _forget_announcements(sku)
    if profile != "none":
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        stdout.write(out.getvalue())
    return {
        "flow": flow,
        "purchases": purchases,
        "debug": settings.DEBUG,
        "profiled": profile,
        "cpu_ms_per_purchase": round(
            (spent["post"] + spent["page"]) * 1000 / purchases, 2
        ),
        "post_cpu_ms": round(spent["post"] * 1000 / purchases, 2),
        "page_cpu_ms": round(spent["page"] * 1000 / purchases, 2),
        "statements_per_purchase": round(
            (statements["post"] + statements["page"]) / purchases, 2
        ),
        "post_statements": round(statements["post"] / purchases, 2),
        "page_statements": round(statements["page"] / purchases, 2),
    }
