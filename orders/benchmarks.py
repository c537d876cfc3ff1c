"""Order benchmarks (python manage.py bench NAME). They measure the full stack:
Postgres, Redis, a real Celery worker and gunicorn serving the sandbox supplier."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection, transaction

from kameng.bench import benchmark

ROOT = Path(__file__).resolve().parent.parent


def _require_full_stack() -> None:
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        raise CommandError(
            "This benchmark needs the full stack: set DATABASE_URL (Postgres) and "
            "REDIS_URL."
        )
    if settings.CELERY_TASK_ALWAYS_EAGER:
        raise CommandError("Unset KAMENG_CELERY_EAGER: tasks must go to a worker.")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _wait_http(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own server
            return
        except urllib.error.HTTPError:
            return  # it answers (503 while no worker runs is fine here)
        except OSError:
            time.sleep(0.3)
    raise CommandError(f"{url} did not come up")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * share + 0.5) - 1)], 1)


def _topup_fixture(*, base_url: str, latency_ms: int, buyers: int):
    from catalog.models import (
        Category,
        Product,
        SandboxProfile,
        Sku,
        Supplier,
        SupplierOffer,
    )
    from catalog.services.suppliers import set_signing_key
    from users.models import LedgerEntry, User
    from users.services import credit_wallet

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
    _require_full_stack()
    from orders.models import Order
    from orders.services import pay_with_wallet, place_order

    port = _free_port()
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
    web = _start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "kameng.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "4",
            "--threads",
            "4",
        ],
        env,
    )
    worker = _start(
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
        _wait_http(f"{base_url}/healthz")
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
        _stop(worker)
        _stop(web)
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
        "paid_to_delivered_p95_ms": _percentile(latencies, 0.95) if latencies else None,
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


def _checkout_fixture(*, buyers: int, codes: int):
    from django.db.models import Count

    from catalog.models import CardBatch, CardCode, Category, Product, Sku
    from kameng import crypto
    from users.models import LedgerEntry, User
    from users.services import credit_wallet

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


class _Browser:
    """A buyer's HTTP session, as a browser holds it: one persistent (keep-alive)
    HTTP/1.1 connection, cookies, the CSRF token, every response read to the end.

    urllib is not used on purpose: it asks for ``Connection: close`` on every request
    and leaves an unread response's socket open until garbage collection. gunicorn's
    gthread worker closes such a connection on its event-loop thread and lingers up to
    two seconds for the client's FIN (RFC 9112 section 9.6), so each leaked socket
    stalls a whole worker: that, not Kameng, is what a urllib client measures."""

    IDLE_SECONDS = 1.0  # well under gunicorn's keep-alive (gunicorn.conf.py)

    def __init__(self, base_url: str):
        import http.client
        from urllib.parse import urlsplit

        address = urlsplit(base_url)
        self.base = base_url
        self.cookies: dict[str, str] = {}
        self.used = 0.0
        self.connection = http.client.HTTPConnection(
            address.hostname, address.port, timeout=30
        )

    def close(self) -> None:
        self.connection.close()

    def csrf(self) -> str:
        return self.cookies["csrftoken"]

    def get(self, path: str) -> tuple[int, dict, str]:
        return self._send("GET", path, None, {})

    def post(self, path: str, data: dict) -> tuple[int, dict, str]:
        from urllib.parse import urlencode

        body = urlencode({**data, "csrfmiddlewaretoken": self.csrf()})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": self.base + path,
        }
        return self._send("POST", path, body, headers)

    def _send(self, method, path, body, headers) -> tuple[int, dict, str]:
        from http.cookies import SimpleCookie

        if time.monotonic() - self.used > self.IDLE_SECONDS:
            self.connection.close()  # the server has dropped it (or is about to)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if response.will_close:
            self.connection.close()  # reconnects on the next request
        self.used = time.monotonic()
        return response.status, dict(response.headers), text


def _ceiling(*, sku_id: int, buyer_ids: list[int], seconds: float, connections: int):
    """The same sale transaction as plain SQL over psycopg: the database's limit.
    The code is picked with the service's own statement (the plain "sku_id = x
    ORDER BY id" form walks the primary key past every other SKU's codes)."""
    import psycopg

    from catalog.services.codes import _PICK_SQL

    dsn = settings.DATABASES["default"]
    conninfo = psycopg.conninfo.make_conninfo(
        dbname=dsn["NAME"],
        user=dsn["USER"],
        password=dsn["PASSWORD"],
        host=dsn["HOST"],
        port=dsn["PORT"] or 5432,
    )
    done = [0] * connections
    stop = time.monotonic() + seconds

    def run(slot: int):
        with psycopg.connect(conninfo) as conn:
            n = 0
            while time.monotonic() < stop:
                buyer = buyer_ids[(slot + n * connections) % len(buyer_ids)]
                order_no = f"C{os.getpid()}{slot:02d}{n:09d}"
                with conn.transaction():
                    wallet_id, balance = conn.execute(
                        "UPDATE users_wallet SET balance = balance - 1.00, "
                        "updated_at = now() WHERE user_id = %s "
                        "RETURNING id, balance",
                        (buyer,),
                    ).fetchone()
                    order_id = conn.execute(
                        "INSERT INTO orders_order (order_no, buyer_id, contact, "
                        "lookup_password, sku_id, quantity, unit_price, amount, "
                        "refunded_amount, price_breakdown, recharge_account, delivery, "
                        "status, payment_method, flag, created_at, paid_at, "
                        "delivered_at, updated_at) VALUES (%s, %s, '', '', %s, 1, "
                        "1.00, 1.00, 0, '{}', '{}', '{}', 'delivered', 'wallet', '', "
                        "now(), now(), now(), now()) RETURNING id",
                        (order_no, buyer, sku_id),
                    ).fetchone()[0]
                    conn.execute(
                        "INSERT INTO users_ledgerentry (wallet_id, amount, "
                        "balance_after, kind, reference, note, created_at) VALUES "
                        "(%s, -1.00, %s, 'purchase', %s, '', now())",
                        (wallet_id, balance, order_no),
                    )
                    code = conn.execute(_PICK_SQL, ([sku_id], 1)).fetchone()
                    conn.execute(
                        "UPDATE catalog_cardcode SET status = 'sold', order_ref = %s, "
                        "sold_at = now() WHERE id = %s",
                        (order_no, code[0]),
                    )
                    conn.execute(
                        "UPDATE catalog_sku SET stock = stock - 1 WHERE id = %s",
                        (sku_id,),
                    )
                    conn.execute(
                        "INSERT INTO orders_orderevent (order_id, from_status, "
                        "to_status, reason, created_at) VALUES (%s, 'pending_payment', "
                        "'paid', 'wallet', now()), (%s, 'paid', 'delivered', "
                        "'card codes', now())",
                        (order_id, order_id),
                    )
                n += 1
            done[slot] = n

    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


@benchmark(
    "checkout",
    help="Card checkout over HTTP (gunicorn, 32 buyers) vs the same transaction "
    "as plain SQL (8 connections): orders/s, p50/p99, ratio, integrity.",
    arguments=[
        ("--buyers", {"type": int, "default": 32}),
        ("--seconds", {"type": float, "default": 20.0}),
        ("--codes", {"type": int, "default": 30000}),
        # Default: gunicorn.conf.py's, as production runs.
        ("--gunicorn-workers", {"type": int, "default": None}),
        ("--gunicorn-threads", {"type": int, "default": None}),
        ("--ceiling-connections", {"type": int, "default": 8}),
    ],
)
def checkout(
    *,
    buyers,
    seconds,
    codes,
    gunicorn_workers,
    gunicorn_threads,
    ceiling_connections,
    stdout,
) -> dict:
    _require_full_stack()
    import re

    from django.db.models import Count, Sum

    from catalog.models import CardCode
    from orders.models import Order
    from users.models import Wallet

    sku, people = _checkout_fixture(buyers=buyers, codes=codes)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1",
        "KAMENG_CELERY_EAGER": "true",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    web = _start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "kameng.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            *(["--workers", str(gunicorn_workers)] if gunicorn_workers else []),
            *(["--threads", str(gunicorn_threads)] if gunicorn_threads else []),
        ],
        env,
    )
    timings: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    try:
        _wait_http(f"{base_url}/healthz")
        sessions = []
        for person in people:
            browser = _Browser(base_url)
            browser.get("/shop/login/")
            browser.post(
                "/shop/login/",
                {"username": person.username, "password": "bench-password"},
            )
            sessions.append(browser)
        product_path = f"/shop/p/{sku.product_id}/?sku={sku.pk}"
        sessions[0].get(product_path)  # warm up
        stop = time.monotonic() + seconds

        def shop(browser: _Browser):
            while time.monotonic() < stop:
                begun = time.perf_counter()
                try:
                    status, headers, _ = browser.post(
                        product_path, {"quantity": "1", "payment": "wallet"}
                    )
                    location = headers.get("Location", "")
                    if not location.startswith("/shop/orders/"):
                        raise RuntimeError(f"no redirect to the order: {status}")
                    _, _, page = browser.get(location)
                    if not re.search(r"<li><code>BENCH-", page):
                        raise RuntimeError("order page without the code")
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    with lock:
                        failures.append(repr(exc)[:200])
                    continue
                with lock:
                    timings.append((time.perf_counter() - begun) * 1000)

        started = time.monotonic()
        threads = [threading.Thread(target=shop, args=(s,)) for s in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        http_rate = len(timings) / (time.monotonic() - started)
        for browser in sessions:
            browser.close()
    finally:
        _stop(web)

    ceiling = _ceiling(
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
    import runpy

    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    figures = {
        "buyers": buyers,
        "seconds": seconds,
        "gunicorn_workers": gunicorn_workers or conf["workers"],
        "gunicorn_threads": gunicorn_threads or conf["threads"],
        "http_orders": len(timings),
        "http_failures": len(failures),
        "http_orders_per_s": round(http_rate, 1),
        "http_p50_ms": round(statistics.median(timings), 1) if timings else None,
        "http_p99_ms": _percentile(timings, 0.99) if timings else None,
        "sql_ceiling_orders_per_s": round(ceiling, 1),
        "ratio": round(http_rate / ceiling, 3) if ceiling else None,
        "integrity_orders_equal_codes": delivered == sold.count() == distinct_sold,
        "integrity_code_sold_twice": double_sold,
        "integrity_wallets_off_ledger": len(mismatched),
        "target_ratio": 0.35,
        "target_p99_ms": 250,
    }
    if failures:
        stdout.write("first failures: " + "; ".join(failures[:3]))
    return figures


# --- bench sale_pool: the cost of a card sale does not grow with the code pool ---

POOL_SLUG = "bench-sale-pool"
POOL_CHUNK = 500_000


def _pool_fixture(*, sizes: list[int], buyers: int, stdout):
    """One card SKU per pool size (code BENCH-POOL-<size>) holding exactly `size`
    available codes, and buyers with a large balance. Kept between runs: a run
    only tops each pool up to its size again (the codes the last run sold stay
    sold, as in a shop) and marks the category with the sizes it holds."""
    from catalog.models import CardBatch, CardCode, Category, Product, Sku
    from kameng import crypto
    from users.models import LedgerEntry, User, Wallet
    from users.services import credit_wallet

    category, _ = Category.objects.get_or_create(
        slug=POOL_SLUG, defaults={"name": "Bench sale pool", "parent": None}
    )
    product, _ = Product.objects.get_or_create(
        category=category, name="Bench pool card", defaults={"status": "listed"}
    )
    # One real ciphertext for every row: nothing decrypts in the sale, but a code
    # revealed later still decrypts. code_hash stays unique per row.
    secret = crypto.encrypt("BENCH-POOL-CODE")
    version = crypto.current_key_version()
    table = CardCode._meta.db_table
    skus = {}
    for size in sizes:
        sku, _ = Sku.objects.update_or_create(
            code=f"BENCH-POOL-{size}",
            defaults={
                "product": product,
                "name": f"pool {size}",
                "delivery_type": Sku.DeliveryType.CARD,
                "stock_mode": Sku.StockMode.CODES,
                "price": Decimal("1.00"),
                "max_quantity": 10,
                "is_active": True,
            },
        )
        available = CardCode.objects.filter(sku=sku, status="available").count()
        missing = size - available
        if missing > 0:
            started = time.perf_counter()
            batch = CardBatch.objects.create(
                sku=sku, file_name="bench-pool.txt", file_format="txt", status="done"
            )
            first = CardCode.objects.filter(sku=sku).count()
            for low in range(first, first + missing, POOL_CHUNK):
                high = min(first + missing, low + POOL_CHUNK) - 1
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"""
                        INSERT INTO {table} (sku_id, batch_id, secret, code_hash,
                            key_version, hint, status, order_ref, created_at)
                        SELECT %s, %s, %s, md5('bench-pool-' || %s || '-' || g),
                               %s, 'POOL****', 'available', '', now()
                        FROM generate_series(%s, %s) AS g
                        """,
                        [sku.pk, batch.pk, secret, sku.pk, version, low, high],
                    )
            stdout.write(
                f"sale_pool: +{missing} codes for pool {size} "
                f"({time.perf_counter() - started:.1f}s)"
            )
        elif missing < 0:  # more than asked (an interrupted run): set the extra aside
            with connection.cursor() as cursor:
                cursor.execute(
                    f"""
                    UPDATE {table} SET status = 'void' WHERE id IN (
                        SELECT id FROM {table} WHERE sku_id = %s
                        AND status = 'available' ORDER BY id DESC LIMIT %s)
                    """,
                    [sku.pk, -missing],
                )
        Sku.objects.filter(pk=sku.pk).update(stock=size)
        skus[size] = sku
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {table}")  # what autovacuum does in a shop
    Category.objects.filter(pk=category.pk).update(
        name="Bench sale pool " + "/".join(str(s) for s in sizes)
    )
    people = []
    for n in range(buyers):
        user, _ = User.objects.get_or_create(username=f"bench-pool-{n:02d}")
        wallet = Wallet.objects.filter(user=user).first()
        if wallet is None or wallet.balance < Decimal("100000.00"):
            credit_wallet(
                user=user, amount=Decimal("1000000.00"), kind=LedgerEntry.Kind.TOPUP
            )
        people.append(user)
    return skus, people


def _pool_cleanup(stdout) -> None:
    from catalog.models import CardBatch, CardCode, Category, Product, Sku, SkuSalesDay
    from orders.models import Order, OrderEvent
    from users.models import LedgerEntry, User, Wallet

    skus = Sku.objects.filter(product__category__slug=POOL_SLUG)
    with transaction.atomic():
        OrderEvent.objects.filter(order__sku__in=skus).delete()
        Order.objects.filter(sku__in=skus).delete()
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {CardCode._meta.db_table} WHERE sku_id = ANY(%s)",
                [list(skus.values_list("pk", flat=True))],
            )
        CardBatch.objects.filter(sku__in=skus).delete()
        SkuSalesDay.objects.filter(sku__in=skus).delete()
        skus.delete()
        Product.objects.filter(category__slug=POOL_SLUG).delete()
        Category.objects.filter(slug=POOL_SLUG).delete()
        people = User.objects.filter(username__startswith="bench-pool-")
        LedgerEntry.objects.filter(wallet__user__in=people).delete()
        Wallet.objects.filter(user__in=people).delete()
        people.delete()
    stdout.write("sale_pool: data set deleted")


def _one_sale(sku, buyer) -> float:
    from orders.services import pay_with_wallet, place_order

    begun = time.perf_counter()
    order = place_order(sku=sku, quantity=1, buyer=buyer)
    pay_with_wallet(order=order, actor=buyer)
    return (time.perf_counter() - begun) * 1000


def _pool_queries(sku, buyer) -> list[str]:
    """The SQL of one purchase, literals left out."""
    import re

    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        _one_sale(sku, buyer)
    literal = re.compile(r"'(?:[^']|'')*'|\"s\d+_x\d+\"|\b\d+(?:\.\d+)?\b")
    return [literal.sub("?", q["sql"]) for q in captured.captured_queries]


def _pick_plan(sku) -> dict:
    """How Postgres finds the next code to sell in this pool: the plan of the very
    statement the sale runs (its row lock ends with the EXPLAIN's own transaction)."""
    from catalog.services.codes import _PICK_SQL

    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + _PICK_SQL, [[sku.pk], 1]
        )
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        import json

        plan = json.loads(plan)
    node = plan[0]["Plan"]
    while node.get("Plans") and "Index" not in node.get("Node Type", ""):
        node = node["Plans"][0]
    return {
        "node": node.get("Node Type"),
        "index": node.get("Index Name"),
        "buffers": node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0),
    }


def _sequential(sku, buyer, sales: int) -> dict:
    timings = [_one_sale(sku, buyer) for _ in range(sales)]
    total = sum(timings) / 1000
    return {
        "orders_per_s": round(sales / total, 1),
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": _percentile(timings, 0.95),
    }


def _threaded(sku, buyers, sales: int, threads: int) -> dict:
    timings: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    per_thread = sales // threads

    def run(slot: int) -> None:
        mine = []
        try:
            for _ in range(per_thread):
                mine.append(_one_sale(sku, buyers[slot % len(buyers)]))
        except Exception as exc:  # noqa: BLE001 - counted and reported
            with lock:
                failures.append(repr(exc)[:200])
        finally:
            connection.close()
            with lock:
                timings.extend(mine)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    return {
        "orders_per_s": round(len(timings) / wall, 1),
        "p50_ms": round(statistics.median(timings), 2) if timings else None,
        "p95_ms": _percentile(timings, 0.95) if timings else None,
        "failures": len(failures),
    }


@benchmark(
    "sale_pool",
    help="Card sale (place_order + pay_with_wallet) against pools of 10,000 and "
    "1,000,000 available codes: orders/s, p50/p95, ratio, queries per sale.",
    arguments=[
        ("--small", {"type": int, "default": 10_000}),
        ("--large", {"type": int, "default": 1_000_000}),
        ("--sales", {"type": int, "default": 2000}),
        ("--threads", {"type": int, "default": 8}),
        ("--cleanup", {"action": "store_true"}),
    ],
)
def sale_pool(*, small, large, sales, threads, cleanup, stdout) -> dict:
    if connection.vendor != "postgresql":
        raise CommandError("This benchmark needs PostgreSQL: set DATABASE_URL.")
    if cleanup:
        _pool_cleanup(stdout)
        return {"cleanup": True}
    from catalog.models import CardCode
    from orders.models import Order

    # Every sale of the sequential and the threaded run, plus warm-up and the
    # query capture, comes out of the pool; refill it so both start full.
    sizes = [small, large]
    skus, buyers = _pool_fixture(sizes=sizes, buyers=max(threads, 1), stdout=stdout)
    figures: dict = {"sales": sales, "threads": threads, "pools": {}}
    queries = {}
    for size in sizes:  # warm-up: connections, caches, the day's sales row
        for _ in range(20):
            _one_sale(skus[size], buyers[0])
    for size in sizes:
        figures["pools"][size] = {"pick_plan": _pick_plan(skus[size])}
        queries[size] = _pool_queries(skus[size], buyers[0])
        figures["pools"][size]["queries_per_sale"] = len(queries[size])
    for size in sizes:
        figures["pools"][size]["sequential"] = _sequential(skus[size], buyers[0], sales)
        stdout.write(f"sale_pool: pool {size} sequential {figures['pools'][size]}")
    for size in sizes:
        figures["pools"][size]["threaded"] = _threaded(
            skus[size], buyers, sales, threads
        )
        stdout.write(f"sale_pool: pool {size} threaded done")
    small_f, large_f = figures["pools"][small], figures["pools"][large]
    figures["ratio_large_to_small"] = {
        run: round(large_f[run]["orders_per_s"] / small_f[run]["orders_per_s"], 3)
        for run in ("sequential", "threaded")
    }
    figures["same_query_count"] = len(queries[small]) == len(queries[large])
    figures["same_sql"] = queries[small] == queries[large]
    for size in sizes:
        sold = Order.objects.filter(sku=skus[size], status="delivered").count()
        codes_sold = CardCode.objects.filter(sku=skus[size], status="sold").count()
        figures["pools"][size]["integrity_orders_equal_codes_sold"] = sold == codes_sold
    return figures
