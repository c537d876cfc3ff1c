"""Benchmark: card checkout over HTTP against the same sale as plain SQL.

    python manage.py bench checkout [--buyers 32] [--seconds 20] [--codes 30000]

Needs the full stack (Postgres, Redis). Logged-in buyers (bench.browser) buy one
code each over and over through the web process (kameng.serve, as production
serves it); then bench.ceiling runs the same transaction as plain SQL. Reports
orders/s, p50/p99, the ratio of the two and the integrity of what was sold (one
code per order, wallets equal to their ledgers).

A buyer buys as the product page does with script on (`--flow htmx`, the
default): one htmx POST whose answer is the order page. `--flow redirect` buys
as a browser without script does: the POST, its redirect, then the order page.

Throughput moves with whatever else the machine runs; what one purchase (the buy
and the order page) costs does not, so it is reported too: the web
workers' CPU ms, SQL statements (counted in the workers, bench.web_probe;
BEGIN/COMMIT not included), Postgres CPU ms (the server processes serving the
web's and the worker's connections), the Celery worker's CPU ms and the
benchmark's own (its buyers' threads, on the same cores), each per purchase
over the measured window.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Sum

from bench.browser import Browser
from bench.ceiling import sales_per_second
from bench.processes import (
    free_port,
    production_env,
    require_full_stack,
    start,
    stop,
    vacuum,
    wait_http,
    web_command,
)
from bench.registry import benchmark, percentile
from catalog.models import CardBatch, CardCode, Category, Product, Sku, SkuSalesDay
from kameng import crypto
from kameng.serve import options as serve_options
from orders.models import Order, PaidAnnouncement
from orders.tasks import POKE_KEY
from users.models import BuyerStats, LedgerEntry, User, Wallet
from users.services import credit_wallet

# The tables whose rows a card sale updates or deletes, leaving dead row
# versions that a machine without autovacuum keeps (bench.processes.vacuum).
SALE_LEAVES_DEAD = (CardCode, Wallet, Sku, SkuSalesDay, PaidAnnouncement, BuyerStats)


def _checkout_fixture(*, buyers: int, codes: int):
    category, _ = Category.objects.get_or_create(
        parent=None, name="Bench", defaults={"slug": "bench"}
    )
    product, _ = Product.objects.get_or_create(
        category=category, name="Bench card", defaults={"status": "listed"}
    )
    sku, _ = Sku.objects.update_or_create(
        code="BENCH-CARD",
        defaults={
            "product": product,
            "name": "10",
            "delivery_type": Sku.DeliveryType.CARD,
            "stock_mode": Sku.StockMode.CODES,
            "price": Decimal("1.00"),
            "max_quantity": 10,
        },
    )
    available = CardCode.objects.filter(sku=sku, status="available").count()
    if available < codes:
        batch = CardBatch.objects.create(
            sku=sku, file_name="bench", file_format="txt", status="done"
        )
        version = crypto.current_key_version()
        missing = codes - available
        start = CardCode.objects.filter(sku=sku).count()
        for offset in range(0, missing, 5000):
            texts = [
                f"BENCH-{sku.pk}-{start + n:09d}"
                for n in range(offset, min(offset + 5000, missing))
            ]
            CardCode.objects.bulk_create(
                CardCode(
                    sku=sku,
                    batch=batch,
                    secret=crypto.encrypt(text),
                    code_hash=crypto.code_hash(text),
                    key_version=version,
                    hint=crypto.mask(text),
                )
                for text in texts
            )
    count = CardCode.objects.filter(sku=sku, status="available").aggregate(
        n=Count("id")
    )
    Sku.objects.filter(pk=sku.pk).update(stock=count["n"])
    people = []
    for n in range(buyers):
        user, created = User.objects.get_or_create(username=f"bench-card-{n:03d}")
        if created:
            user.set_password("bench-password")
            user.save(update_fields=["password"])
            credit_wallet(
                user=user, amount=Decimal("1000000.00"), kind=LedgerEntry.Kind.TOPUP
            )
        people.append(user)
    return sku, people


TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) of a process so far, in ms; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) * 1000 / TICKS_PER_SECOND


def _probe(folder: Path) -> dict:
    """Workers' statement totals and CPU, and the CPU of the Postgres server
    processes of this database's other connections (the web's and the
    worker's), now."""
    workers = {}
    for path in folder.iterdir():
        text = path.read_text().strip()
        workers[int(path.name)] = int(text or 0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        backends = [pid for (pid,) in cursor.fetchall()]
    return {
        "statements": workers,
        "worker_cpu": {pid: cpu_ms(pid) for pid in workers},
        "postgres_cpu": {pid: cpu_ms(pid) for pid in backends},
    }


def _per_purchase(before: dict, after: dict, purchases: int) -> dict:
    def delta(key):
        return sum(value - before[key].get(pid, 0) for pid, value in after[key].items())

    if not purchases:
        return {}
    return {
        "web_cpu_ms_per_purchase": round(delta("worker_cpu") / purchases, 2),
        "sql_statements_per_purchase": round(delta("statements") / purchases, 2),
        "postgres_cpu_ms_per_purchase": round(delta("postgres_cpu") / purchases, 2),
    }


# How a buyer's browser buys: with script on (one htmx request answered with the
# order page) or without (the form's POST, its redirect, the order page).
FLOWS = ["htmx", "redirect"]


def buy(browser: Browser, product_path: str, flow: str) -> str:
    """One card bought by wallet; returns the order page."""
    form = {"quantity": "1", "payment": "wallet"}
    if flow == "htmx":
        status, headers, page = browser.post(product_path, form, {"HX-Request": "true"})
        if not headers.get("HX-Push-Url", "").startswith("/shop/orders/"):
            raise RuntimeError(f"no order page: {status}")
        return page
    status, headers, _ = browser.post(product_path, form)
    location = headers.get("Location", "")
    if not location.startswith("/shop/orders/"):
        raise RuntimeError(f"no redirect to the order: {status} {location}")
    return browser.get(location)[2]


@benchmark(
    "checkout",
    help="Card checkout over HTTP (kameng.serve, 32 buyers) vs the same transaction "
    "as plain SQL (8 connections): orders/s, p50/p99, ratio, integrity.",
    arguments=[
        ("--buyers", {"type": int, "default": 32}),
        ("--seconds", {"type": float, "default": 20.0}),
        ("--codes", {"type": int, "default": 30000}),
        # Default: kameng.serve's, as production runs.
        ("--web-workers", {"type": int, "default": None}),
        ("--web-threads", {"type": int, "default": None}),
        ("--ceiling-connections", {"type": int, "default": 8}),
        ("--flow", {"choices": FLOWS, "default": "htmx"}),
    ],
)
def checkout(
    *,
    buyers,
    seconds,
    codes,
    web_workers,
    web_threads,
    ceiling_connections,
    flow,
    stdout,
) -> dict:
    require_full_stack()
    sku, people = _checkout_fixture(buyers=buyers, codes=codes)
    vacuum(*SALE_LEAVES_DEAD)
    # An earlier run's worker may have left the drain's wake-up key behind,
    # its drain queued on that run's queue, which nobody reads now: until the
    # key expired, no sale of this run would queue a drain (production's beat
    # sweep is not running here) and the worker's figure would read zero.
    cache.delete(POKE_KEY)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    probe_dir = Path(tempfile.mkdtemp(prefix="kameng-bench-"))
    env = production_env(
        # What other apps do about a sale (order_paid) goes to a real worker,
        # as in production; its CPU is reported apart from the web's.
        KAMENG_CELERY_EAGER="false",
        CELERY_QUEUE=f"bench-checkout-{os.getpid()}",
        KAMENG_BENCH_PROBE_DIR=str(probe_dir),
    )
    web = start(
        web_command(
            port,
            app="bench.web_probe:application",
            workers=web_workers,
            threads=web_threads,
        ),
        env,
    )
    worker = start(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "kameng",
            "worker",
            "--pool=threads",
            "--concurrency=2",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"bench-checkout-{os.getpid()}@%h",
            "--loglevel=WARNING",
        ],
        env,
    )
    timings: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    try:
        wait_http(f"{base_url}/healthz")
        sessions = []
        for person in people:
            browser = Browser(base_url)
            browser.get("/shop/login/")
            browser.post(
                "/shop/login/",
                {"username": person.username, "password": "bench-password"},
            )
            sessions.append(browser)
        product_path = f"/shop/p/{sku.product_id}/?sku={sku.pk}"
        sessions[0].get(product_path)  # warm up
        until = time.monotonic() + seconds

        def shop(browser: Browser):
            while time.monotonic() < until:
                begun = time.perf_counter()
                try:
                    page = buy(browser, product_path, flow)
                    if not re.search(r"<li><code>BENCH-", page):
                        raise RuntimeError("order page without the code")
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    with lock:
                        failures.append(repr(exc)[:200])
                    continue
                with lock:
                    timings.append((time.perf_counter() - begun) * 1000)

        before = _probe(probe_dir)
        worker_before = cpu_ms(worker.pid)
        client_before = time.process_time()
        started = time.monotonic()
        threads = [threading.Thread(target=shop, args=(s,)) for s in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        http_rate = len(timings) / (time.monotonic() - started)
        client_ms = (time.process_time() - client_before) * 1000
        costs = _per_purchase(before, _probe(probe_dir), len(timings))
        if timings:
            # the buyers' own threads share the cores with what they measure
            costs["client_cpu_ms_per_purchase"] = round(client_ms / len(timings), 2)
        time.sleep(2)  # the worker's last announcements of the window
        if timings:
            costs["celery_worker_cpu_ms_per_purchase"] = round(
                (cpu_ms(worker.pid) - worker_before) / len(timings), 2
            )
        for browser in sessions:
            browser.close()
    finally:
        stop(worker)
        stop(web)
        shutil.rmtree(probe_dir, ignore_errors=True)

    ceiling = sales_per_second(
        sku_id=sku.pk,
        buyer_ids=[p.pk for p in people],
        seconds=seconds / 2,
        connections=ceiling_connections,
    )
    delivered = Order.objects.filter(sku=sku, status="delivered").count()
    sold = CardCode.objects.filter(sku=sku, status="sold")
    distinct_sold = sold.values("order_ref").distinct().count()
    wallets = Wallet.objects.filter(user__in=people).annotate(
        ledger=Sum("entries__amount")
    )
    mismatched = [w.user_id for w in wallets if w.balance != w.ledger]
    double_sold = (
        sold.values("order_ref").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    served = serve_options([])
    figures = {
        "flow": flow,
        "buyers": buyers,
        "seconds": seconds,
        "web_workers": web_workers or served.workers,
        "web_threads": web_threads or served.threads,
        "http_orders": len(timings),
        "http_failures": len(failures),
        "http_orders_per_s": round(http_rate, 1),
        "http_p50_ms": round(statistics.median(timings), 1) if timings else None,
        "http_p99_ms": percentile(timings, 0.99) if timings else None,
        "sql_ceiling_orders_per_s": round(ceiling, 1),
        "ratio": round(http_rate / ceiling, 3) if ceiling else None,
        **costs,
        "integrity_orders_equal_codes": delivered == sold.count() == distinct_sold,
        "integrity_code_sold_twice": double_sold,
        "integrity_wallets_off_ledger": len(mismatched),
        "target_ratio": 0.30,  # issue 12 (stretch 0.45)
        "target_p99_ms": 400 if buyers > 4 else 60,
        "target_web_cpu_ms_per_purchase": 5,
    }
    if failures:
        stdout.write("first failures: " + "; ".join(failures[:3]))
    return figures


# --- bench sale_pool: the cost of a card sale does not grow with the code pool ---
