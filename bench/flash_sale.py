"""Benchmark: a flash sale over HTTP (issue 13).

    python manage.py bench flash_sale [--units 1000] [--buyers 200] [--per-buyer 8]

Needs the full stack (Postgres, Redis). A fresh card SKU with more codes than
units goes on a flash sale of `units` units (per-buyer cap `per_buyer`); each of
`buyers` logged-in buyers (one thread and one keep-alive connection each,
bench.browser) buys one unit at a time through the web process (kameng.serve),
again and again, until
the shop says 已抢光 (or the buyer's limit). Then it checks what was sold:
exactly `units` units sold and delivered (the sale's counter, the claims, the
delivered orders, the sold codes), the most one buyer holds against the cap,
wallets equal to their ledgers, and coupons: the buyers use none in this run, so
it says so (and counts coupons marked used by two orders, if the coupon tables
exist). Prints orders/s (from the first purchase to the sell-out) and p50/p99
of a purchase and of a refusal. A buyer buys as the product page does with
script on: one htmx POST, answered with the order page (bench checkout's
`--flow htmx`).

On this 2-core machine the 200 client threads share the cores with the web and
Postgres: the figures are what one small machine does with everything on it.
"""

from __future__ import annotations

import re
import shutil
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.cached_db import SessionStore
from django.db.models import Count, Max, Sum
from django.utils import timezone

from bench.browser import Browser
from bench.checkout import SALE_LEAVES_DEAD, _per_purchase, _probe
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
from catalog.models import CardBatch, CardCode, Category, Product, Sku
from kameng import crypto
from marketing.flash_sales import save_flash_sale
from marketing.models import FlashSale, FlashSaleBuyer, FlashSaleClaim
from orders.models import Order
from users import backends
from users.models import LedgerEntry, User, Wallet
from users.services import credit_wallet

SOLD_OUT = "已抢光"
LIMIT = "每人限购"
MAX_SECONDS = 240  # the buyers stop by then whatever happened


def _fixture(*, units: int, buyers: int, per_buyer: int):
    category, _ = Category.objects.get_or_create(
        parent=None, name="Bench", defaults={"slug": "bench"}
    )
    product = Product.objects.create(
        category=category, name=f"Bench flash {time.time():.0f}", status="listed"
    )
    sku = Sku.objects.create(
        product=product,
        code=f"BENCH-FLASH-{product.pk}",
        name="10",
        delivery_type=Sku.DeliveryType.CARD,
        stock_mode=Sku.StockMode.CODES,
        price=Decimal("10.00"),
        cost_price=Decimal("4.00"),
        max_quantity=10,
    )
    batch = CardBatch.objects.create(
        sku=sku, file_name="bench", file_format="txt", status="done"
    )
    codes = units + units // 5  # more codes than units: the cap, not stock, stops it
    version = crypto.current_key_version()
    for offset in range(0, codes, 5000):
        texts = [
            f"FLASH-{sku.pk}-{n:09d}" for n in range(offset, min(offset + 5000, codes))
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
    Sku.objects.filter(pk=sku.pk).update(stock=codes)
    sku.refresh_from_db()
    now = timezone.now()
    sale = save_flash_sale(
        sale=FlashSale(
            sku=sku,
            title="Bench flash sale",
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(hours=1),
            price=Decimal("1.00"),
            quantity_cap=units,
            per_buyer_cap=per_buyer,
        )
    )
    people = []
    password = make_password("bench-password")  # hashed once, shared by all
    for n in range(buyers):
        user, created = User.objects.get_or_create(
            username=f"bench-flash-{n:03d}", defaults={"password": password}
        )
        if created:
            credit_wallet(
                user=user, amount=Decimal("100000.00"), kind=LedgerEntry.Kind.TOPUP
            )
        people.append(user)
    return sku, sale, people


def _logged_in(base_url: str, user) -> Browser:
    """A browser holding a logged-in session for `user`, made as login() makes
    one (without the password hash per buyer, which would take minutes here);
    the first page sets its CSRF cookie."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = backends.PATH
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    browser = Browser(base_url)
    browser.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return browser


def _coupons_check(order_ids: list[int]) -> dict:
    """Coupons of this run's orders: none are chosen by these buyers. If the
    coupon tables exist, also count coupons marked used by more than one order."""
    try:
        coupon = apps.get_model("marketing", "Coupon")
    except LookupError:
        return {"coupons": "no coupons in this run", "coupons_used_twice": 0}
    order_field = next(
        (
            f.name
            for f in coupon._meta.concrete_fields
            if f.name in ("order_id", "used_order_id", "used_by_order_id")
        ),
        None,
    )
    if order_field is None:
        return {"coupons": "no coupons in this run", "coupons_used_twice": 0}
    used = coupon.objects.filter(**{f"{order_field}__in": order_ids})
    return {
        "coupons": "no coupons in this run"
        if not used.exists()
        else f"{used.count()} coupons used by {len(order_ids)} orders",
        "coupons_used_twice": used.values(order_field)
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count(),
    }


@benchmark(
    "flash_sale",
    help="A flash sale over HTTP (kameng.serve): 1,000 units, 200 buyers trying until "
    "sold out; exactly the units sold, none over the per-buyer cap, orders/s, p99.",
    arguments=[
        ("--units", {"type": int, "default": 1000}),
        ("--buyers", {"type": int, "default": 200}),
        ("--per-buyer", {"type": int, "default": 8}),
        ("--web-workers", {"type": int, "default": None}),
        ("--web-threads", {"type": int, "default": None}),
    ],
)
def flash_sale(*, units, buyers, per_buyer, web_workers, web_threads, stdout) -> dict:
    require_full_stack()
    sku, sale, people = _fixture(units=units, buyers=buyers, per_buyer=per_buyer)
    vacuum(*SALE_LEAVES_DEAD, FlashSale)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    probe_dir = Path(tempfile.mkdtemp(prefix="kameng-bench-"))
    env = production_env(
        KAMENG_CELERY_EAGER="true", KAMENG_BENCH_PROBE_DIR=str(probe_dir)
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
    bought: list[float] = []
    refused: list[float] = []
    failures: list[str] = []
    first_sale: list[float] = []
    sold_out_at: list[float] = []
    lock = threading.Lock()
    try:
        wait_http(f"{base_url}/healthz")
        product_path = f"/shop/p/{sku.product_id}/?sku={sku.pk}"
        sessions = []
        for person in people:
            browser = _logged_in(base_url, person)
            browser.get(product_path)  # the CSRF cookie; warms the workers up
            sessions.append(browser)
        until = time.monotonic() + MAX_SECONDS
        go = threading.Barrier(len(sessions))

        def shop(browser: Browser):
            go.wait()
            while time.monotonic() < until:
                begun = time.perf_counter()
                try:
                    # as the product page sends it with script on: the
                    # answer is the order page, or the form saying why not
                    status, headers, page = browser.post(
                        product_path,
                        {"quantity": "1", "payment": "wallet"},
                        {"HX-Request": "true"},
                    )
                    if headers.get("HX-Push-Url", "").startswith("/shop/orders/"):
                        if not re.search(r"<li><code>FLASH-", page):
                            raise RuntimeError("order page without the code")
                        with lock:
                            first_sale or first_sale.append(time.monotonic())
                            bought.append((time.perf_counter() - begun) * 1000)
                        continue
                    with lock:
                        refused.append((time.perf_counter() - begun) * 1000)
                    if SOLD_OUT in page:
                        with lock:
                            sold_out_at or sold_out_at.append(time.monotonic())
                        return
                    if LIMIT in page:
                        return  # this buyer holds the most allowed
                    raise RuntimeError(f"neither sold nor refused: {status}")
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    # e.g. the client's 30 s timeout while queued behind 200
                    # buyers: a fresh connection, and the buyer tries again
                    browser.connection.close()
                    with lock:
                        failures.append(repr(exc)[:200])

        before = _probe(probe_dir)
        started = time.monotonic()
        threads = [threading.Thread(target=shop, args=(s,)) for s in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ended = time.monotonic()
        costs = _per_purchase(before, _probe(probe_dir), len(bought))
        for browser in sessions:
            browser.close()
    finally:
        stop(web)
        shutil.rmtree(probe_dir, ignore_errors=True)

    sale.refresh_from_db()
    orders = Order.objects.filter(sku=sku, status="delivered")
    order_ids = list(orders.values_list("id", flat=True))
    units_delivered = orders.aggregate(n=Sum("quantity"))["n"] or 0
    claims = FlashSaleClaim.objects.filter(sale=sale, released_at__isnull=True)
    per_buyer_max = (
        FlashSaleBuyer.objects.filter(sale=sale).aggregate(m=Max("bought"))["m"] or 0
    )
    orders_per_buyer_max = (
        orders.values("buyer_id").annotate(n=Sum("quantity")).aggregate(m=Max("n"))["m"]
        or 0
    )
    sold_codes = CardCode.objects.filter(sku=sku, status="sold").count()
    wallets = Wallet.objects.filter(user__in=people).annotate(
        ledger=Sum("entries__amount")
    )
    mismatched = [w.user_id for w in wallets if w.balance != w.ledger]
    window = (sold_out_at[0] if sold_out_at else ended) - (
        first_sale[0] if first_sale else started
    )
    figures = {
        "units": units,
        "buyers": buyers,
        "per_buyer_cap": per_buyer,
        "seconds_to_sell_out": round(window, 1),
        "sold_out": bool(sold_out_at),
        "http_orders": len(bought),
        "http_refusals": len(refused),
        "http_failures": len(failures),
        "http_orders_per_s": round(len(bought) / window, 1) if window > 0 else None,
        "http_p50_ms": round(statistics.median(bought), 1) if bought else None,
        "http_p99_ms": percentile(bought, 0.99) if bought else None,
        "refusal_p99_ms": percentile(refused, 0.99) if refused else None,
        **costs,
        "check_exactly_units_sold": sale.sold
        == units_delivered
        == claims.count()
        == sold_codes
        == units,
        "sale_counter_sold": sale.sold,
        "units_delivered": units_delivered,
        "codes_sold": sold_codes,
        "max_units_per_buyer": max(per_buyer_max, orders_per_buyer_max),
        "check_none_over_per_buyer_cap": max(per_buyer_max, orders_per_buyer_max)
        <= per_buyer,
        **_coupons_check(order_ids),
        "integrity_wallets_off_ledger": len(mismatched),
        "gmv": str(sale.gmv),
    }
    stdout.write(
        f"sold {sale.sold}/{units} to {buyers} buyers in {window:.1f} s; "
        f"max per buyer {figures['max_units_per_buyer']} (cap {per_buyer}); "
        f"{figures['coupons']}\n"
    )
    if failures:
        stdout.write("first failures: " + "; ".join(failures[:3]) + "\n")
    return figures
