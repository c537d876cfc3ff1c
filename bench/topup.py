"""Benchmark: a top-up from payment to delivery, with a real worker.

    python manage.py bench topup [--orders 200] [--rate 10] [--latency-ms 100]

Needs the full stack (Postgres, Redis): the web process serves the sandbox supplier with
the given latency, a Celery worker delivers, and buyers pay at a steady rate below
the stack's capacity. Reports paid → delivered p50/p95/max.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from decimal import Decimal

from django.db import connection

from bench.processes import (
    free_port,
    require_full_stack,
    start,
    stop,
    wait_http,
    web_command,
)
from bench.registry import benchmark, percentile
from catalog.models import (
    Category,
    Product,
    SandboxProfile,
    Sku,
    Supplier,
    SupplierOffer,
)
from catalog.services.suppliers import set_signing_key
from orders.checkout import pay_with_wallet, place_order
from orders.models import Order
from users.models import LedgerEntry, User
from users.services import credit_wallet


def _topup_fixture(*, base_url: str, latency_ms: int, buyers: int):
    category, _ = Category.objects.get_or_create(
        parent=None, name="Bench", defaults={"slug": "bench"}
    )
    product, _ = Product.objects.get_or_create(
        category=category, name="Bench top-up", defaults={"status": "listed"}
    )
    sku, _ = Sku.objects.update_or_create(
        code="BENCH-TOPUP",
        defaults={
            "product": product,
            "name": "50",
            "delivery_type": Sku.DeliveryType.TOPUP,
            "stock_mode": Sku.StockMode.UNLIMITED,
            "price": Decimal("1.00"),
            "recharge_fields": [{"key": "phone", "label": "phone", "rule": "phone"}],
        },
    )
    supplier, _ = Supplier.objects.update_or_create(
        name="Bench sandbox",
        defaults={
            "endpoint": f"{base_url}/sandbox/supplier/",
            "merchant_id": "bench-topup",
            "is_sandbox": True,
            "timeout_seconds": Decimal("5.00"),
            "breaker_state": Supplier.Breaker.CLOSED,
            "consecutive_failures": 0,
        },
    )
    set_signing_key(supplier=supplier, key="bench-signing-key-0123456789abcdef")
    SandboxProfile.objects.update_or_create(
        merchant_id="bench-topup",
        defaults={
            "latency_ms": latency_ms,
            "failure_rate": 0,
            "timeout_rate": 0,
            "garbage_rate": 0,
            "processing_then_callback": False,
        },
    )
    SupplierOffer.objects.update_or_create(
        supplier=supplier,
        sku=sku,
        defaults={"supplier_sku": "UP-50", "cost": Decimal("0.90"), "priority": 1},
    )
    people = []
    for n in range(buyers):
        user, created = User.objects.get_or_create(username=f"bench-topup-{n:03d}")
        if created:
            credit_wallet(
                user=user, amount=Decimal("100000.00"), kind=LedgerEntry.Kind.TOPUP
            )
        people.append(user)
    return sku, people


@benchmark(
    "topup",
    help="Top-up via the sandbox supplier (100 ms) with a real worker: paid → "
    "delivered p50/p95.",
    arguments=[
        ("--orders", {"type": int, "default": 200}),
        ("--concurrency", {"type": int, "default": 4}),
        (
            "--rate",
            {
                "type": float,
                "default": 10.0,
                "help": "Orders paid per second, spread over the buyers: latency "
                "is measured below the stack's capacity, not as a queue backlog.",
            },
        ),
        ("--latency-ms", {"type": int, "default": 100}),
        ("--worker-concurrency", {"type": int, "default": 16}),
    ],
)
def topup(*, orders, concurrency, rate, latency_ms, worker_concurrency, stdout) -> dict:
    require_full_stack()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SUPPLIER_CALLBACK_BASE_URL": base_url,
        "SANDBOX_SUPPLIER_ENABLED": "true",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("KAMENG_CELERY_EAGER", None)
    sku, buyers = _topup_fixture(base_url=base_url, latency_ms=latency_ms, buyers=32)
    web = start(web_command(port, workers=4, threads=4), env)
    worker = start(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "kameng",
            "worker",
            "--pool=threads",
            f"--concurrency={worker_concurrency}",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"bench-topup-{os.getpid()}@%h",
            "--loglevel=WARNING",
        ],
        env,
    )
    try:
        wait_http(f"{base_url}/healthz")
        time.sleep(3)  # the worker connects to the broker
        placed: list[int] = []
        lock = threading.Lock()
        per_thread = orders // concurrency

        interval = concurrency / rate  # each thread's pace

        def shop(n: int) -> None:
            try:
                buyer = buyers[n % len(buyers)]
                next_at = time.monotonic() + n * interval / concurrency
                for _ in range(per_thread):
                    time.sleep(max(0.0, next_at - time.monotonic()))
                    next_at += interval
                    order = place_order(
                        sku=sku,
                        quantity=1,
                        buyer=buyer,
                        recharge_account={"phone": "13800138000"},
                    )
                    pay_with_wallet(order=order, actor=buyer)
                    with lock:
                        placed.append(order.pk)
            finally:
                connection.close()

        started = time.monotonic()
        threads = [threading.Thread(target=shop, args=(n,)) for n in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        deadline = time.monotonic() + 120
        final = {Order.Status.DELIVERED, Order.Status.REFUNDED, Order.Status.FAILED}
        while time.monotonic() < deadline:
            left = Order.objects.filter(pk__in=placed).exclude(status__in=final).count()
            if not left:
                break
            time.sleep(0.25)
        elapsed = time.monotonic() - started
    finally:
        stop(worker)
        stop(web)
    rows = Order.objects.filter(pk__in=placed)
    delivered = list(
        rows.filter(status=Order.Status.DELIVERED).values_list(
            "paid_at", "delivered_at"
        )
    )
    latencies = [(d - p).total_seconds() * 1000 for p, d in delivered]
    figures = {
        "orders": len(placed),
        "delivered": len(delivered),
        "not_delivered": len(placed) - len(delivered),
        "supplier_latency_ms": latency_ms,
        "paid_to_delivered_p50_ms": round(statistics.median(latencies), 1)
        if latencies
        else None,
        "paid_to_delivered_p95_ms": percentile(latencies, 0.95) if latencies else None,
        "paid_to_delivered_max_ms": round(max(latencies), 1) if latencies else None,
        "wall_s": round(elapsed, 2),
        "arrival_rate_per_s": rate,
        "target_p95_ms": 400,
    }
    stdout.write(
        f"{figures['delivered']}/{figures['orders']} delivered, p95 "
        f"{figures['paid_to_delivered_p95_ms']} ms"
    )
    return figures
