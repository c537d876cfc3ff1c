"""Benchmark: the cost of a card sale does not grow with the code pool.

    python manage.py bench sale_pool [--small 10000] [--large 1000000] [--cleanup]

Needs PostgreSQL. Sells codes (place_order + pay_with_wallet, in this process)
from a small and a large pool, sequentially and from threads, and compares
orders/s, the SQL of one sale and the plan of the code pick.
"""

from __future__ import annotations

import json
import re
import statistics
import threading
import time
from decimal import Decimal

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bench.processes import require_postgres, vacuum
from bench.registry import benchmark, percentile
from bench.schema import column, insert_columns, table
from catalog.models import CardBatch, CardCode, Category, Product, Sku, SkuSalesDay
from catalog.services.codes import PICK_AVAILABLE_SQL
from kameng import crypto
from orders.checkout import pay_with_wallet, place_order
from orders.models import Order, OrderEvent
from users.models import LedgerEntry, User, Wallet
from users.services import credit_wallet

POOL_SLUG = "bench-sale-pool"
POOL_CHUNK = 500_000

# Hand-written SQL (half a million rows per statement); names from bench.schema.
_code_pk, _code_sku = column(CardCode, "pk"), column(CardCode, "sku")
_code_status = column(CardCode, "status")
_pool_code_columns = insert_columns(
    CardCode,
    "sku",
    "batch",
    "secret",
    "code_hash",
    "key_version",
    "hint",
    "status",
    "order_ref",
    "created_at",
)
INSERT_POOL_CODES = f"""
    INSERT INTO {table(CardCode)} ({_pool_code_columns})
    SELECT %s, %s, %s, md5('bench-pool-' || %s || '-' || g),
           %s, 'POOL****', '{CardCode.Status.AVAILABLE}', '', now()
    FROM generate_series(%s, %s) AS g
"""
VOID_EXTRA_CODES = f"""
    UPDATE {table(CardCode)} SET {_code_status} = '{CardCode.Status.VOID}'
    WHERE {_code_pk} IN (
        SELECT {_code_pk} FROM {table(CardCode)} WHERE {_code_sku} = %s
        AND {_code_status} = '{CardCode.Status.AVAILABLE}'
        ORDER BY {_code_pk} DESC LIMIT %s)
"""
DELETE_POOL_CODES = f"DELETE FROM {table(CardCode)} WHERE {_code_sku} = ANY(%s)"


def _pool_fixture(*, sizes: list[int], buyers: int, stdout):
    """One card SKU per pool size (code BENCH-POOL-<size>) holding exactly `size`
    available codes, and buyers with a large balance. Kept between runs: a run
    only tops each pool up to its size again (the codes the last run sold stay
    sold, as in a shop) and marks the category with the sizes it holds."""
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
                        INSERT_POOL_CODES,
                        [sku.pk, batch.pk, secret, sku.pk, version, low, high],
                    )
            stdout.write(
                f"sale_pool: +{missing} codes for pool {size} "
                f"({time.perf_counter() - started:.1f}s)"
            )
        elif missing < 0:  # more than asked (an interrupted run): set the extra aside
            with connection.cursor() as cursor:
                cursor.execute(VOID_EXTRA_CODES, [sku.pk, -missing])
        Sku.objects.filter(pk=sku.pk).update(stock=size)
        skus[size] = sku
    vacuum(CardCode)
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
    skus = Sku.objects.filter(product__category__slug=POOL_SLUG)
    with transaction.atomic():
        OrderEvent.objects.filter(order__sku__in=skus).delete()
        Order.objects.filter(sku__in=skus).delete()
        with connection.cursor() as cursor:
            cursor.execute(DELETE_POOL_CODES, [list(skus.values_list("pk", flat=True))])
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
    begun = time.perf_counter()
    order = place_order(sku=sku, quantity=1, buyer=buyer)
    pay_with_wallet(order=order, actor=buyer)
    return (time.perf_counter() - begun) * 1000


def _pool_queries(sku, buyer) -> list[str]:
    """The SQL of one purchase, literals left out."""
    with CaptureQueriesContext(connection) as captured:
        _one_sale(sku, buyer)
    literal = re.compile(r"'(?:[^']|'')*'|\"s\d+_x\d+\"|\b\d+(?:\.\d+)?\b")
    return [literal.sub("?", q["sql"]) for q in captured.captured_queries]


def _pick_plan(sku) -> dict:
    """How Postgres finds the next code to sell in this pool: the plan of the very
    statement the sale runs (its row lock ends with the EXPLAIN's own transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + PICK_AVAILABLE_SQL,
            [[sku.pk], 1],
        )
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
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
        "p95_ms": percentile(timings, 0.95),
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
        "p95_ms": percentile(timings, 0.95) if timings else None,
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
    require_postgres()
    if cleanup:
        _pool_cleanup(stdout)
        return {"cleanup": True}
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
