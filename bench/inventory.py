"""Benchmark: the inventory monitor on a large catalog (PostgreSQL).

    python manage.py bench inventory_monitor [--skus 1000] [--codes 5000000]
        [--requests 20] [--cleanup]

Builds (once) a data set of bench SKUs under the category slug "bench-inventory":
60 % card SKUs holding the codes (skewed: a few SKUs are low or out), 30 % top-up
SKUs with two offers each from three bench suppliers (one of them flaky), 10 %
manual SKUs with counter stock. Codes are inserted by `INSERT … SELECT FROM
generate_series` (code_hash = md5 of the series number, a dummy token as secret)
and Sku.stock is set from the available codes. The category's name records the
sizes; a later run with the same sizes reuses the data set and only refreshes
what ages (7 days of SkuSalesDay, the last hour of SupplierCall rows).

Measures the page's server time (Django test Client, a logged-in operations
user, p50/p95 of --requests requests) and its query count, for page sizes 50 and
200 and for the filtered and sorted variants, plus the fragment htmx reloads and
one full stock-alert check. `--cleanup` deletes the data set and stops.
"""

from __future__ import annotations

import statistics
import time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from bench.registry import benchmark
from bench.schema import column, insert_columns, table
from catalog.models import (
    CardBatch,
    CardCode,
    Category,
    Product,
    Sku,
    SkuSalesDay,
    Supplier,
    SupplierCall,
    SupplierOffer,
)
from catalog.services.inventory import check_stock_alerts
from users.models import User
from users.roles import ROLE_BY_CODE

SLUG = "bench-inventory"
PREFIX = "BI-"
SUPPLIERS = (("bench-货源A", 0.99), ("bench-货源B", 0.95), ("bench-货源C", 0.55))
CHUNK = 1_000_000

VARIANTS = [
    ("page50", "/admin/catalog/inventory/", {}),
    ("page200", "/admin/catalog/inventory/", {"size": 200}),
    ("sort_sold7d_desc", "/admin/catalog/inventory/", {"sort": "-sold_7d"}),
    ("sort_cover", "/admin/catalog/inventory/", {"sort": "cover", "size": 200}),
    ("sort_state", "/admin/catalog/inventory/", {"sort": "state"}),
    ("sort_success", "/admin/catalog/inventory/", {"sort": "success"}),
    ("filter_low", "/admin/catalog/inventory/", {"state": "low"}),
    ("filter_degraded", "/admin/catalog/inventory/", {"state": "degraded"}),
    (
        "filter_topup_search",
        "/admin/catalog/inventory/",
        {"delivery": "topup", "q": "BI-0", "sort": "-latency"},
    ),
    ("rows50", "/admin/catalog/inventory/rows/", {}),
    ("rows200_state", "/admin/catalog/inventory/rows/", {"size": 200, "sort": "state"}),
]


# Hand-written SQL (a million rows per statement); names from bench.schema.
_sku_pk, _code_sku = column(Sku, "pk"), column(CardCode, "sku")
DELETE_CODES = (
    f"DELETE FROM {table(CardCode)} WHERE {_code_sku} IN "
    f"(SELECT s.{_sku_pk} FROM {table(Sku)} s "
    f"JOIN {table(Product)} p "
    f"ON p.{column(Product, 'pk')} = s.{column(Sku, 'product')} "
    f"JOIN {table(Category)} c "
    f"ON c.{column(Category, 'pk')} = p.{column(Product, 'category')} "
    f"WHERE c.{column(Category, 'slug')} = %s)"
)
_code_columns = insert_columns(
    CardCode,
    "sku",
    "batch",
    "secret",
    "code_hash",
    "key_version",
    "hint",
    "status",
    "order_ref",
    "sold_at",
    "created_at",
)
INSERT_CODES = f"""
    INSERT INTO {table(CardCode)} ({_code_columns})
    SELECT (%s::bigint[])[i], (%s::bigint[])[i],
           'bench-dummy-token', md5('bench-' || g::text), 'bench',
           'BENCH****' || lpad((g %% 10000)::text, 4, '0'),
           CASE WHEN g %% 7 = 0 THEN '{CardCode.Status.SOLD}'
                ELSE '{CardCode.Status.AVAILABLE}' END,
           CASE WHEN g %% 7 = 0 THEN 'BENCH' || g::text ELSE '' END,
           CASE WHEN g %% 7 = 0 THEN now() ELSE NULL END,
           now()
    FROM generate_series(%s, %s) AS g,
         LATERAL (SELECT 1 + floor(%s * sqrt(g::float8 / %s))::int AS i) ix
"""
SET_STOCK_FROM_CODES = f"""
    UPDATE {table(Sku)} s SET {column(Sku, "stock")} = COALESCE(c.n, 0)
    FROM (SELECT {_sku_pk} FROM {table(Sku)} WHERE {_sku_pk} = ANY(%s)) k
    LEFT JOIN (
        SELECT {_code_sku}, COUNT(*) AS n FROM {table(CardCode)}
        WHERE {column(CardCode, "status")} = '{CardCode.Status.AVAILABLE}'
        AND {_code_sku} = ANY(%s) GROUP BY {_code_sku}
    ) c ON c.{_code_sku} = k.{_sku_pk}
    WHERE s.{_sku_pk} = k.{_sku_pk}
"""
_sales_day_columns = insert_columns(SkuSalesDay, "sku", "day", "quantity")
INSERT_SALES_DAYS = f"""
    INSERT INTO {table(SkuSalesDay)} ({_sales_day_columns})
    SELECT s.{_sku_pk}, %s::date - d, ((s.{_sku_pk} * 31 + d * 17) %% 40)
    FROM {table(Sku)} s, generate_series(0, 7) AS d
    WHERE s.{_sku_pk} = ANY(%s)
    AND s.{column(Sku, "delivery_type")} <> '{Sku.DeliveryType.MANUAL}'
"""
_offer_pk = column(SupplierOffer, "pk")
_offer_supplier = column(SupplierOffer, "supplier")
_call_columns = insert_columns(
    SupplierCall,
    "supplier",
    "offer",
    "operation",
    "order_no",
    "outcome",
    "latency_ms",
    "detail",
    "created_at",
)
INSERT_SUPPLIER_CALLS = f"""
    INSERT INTO {table(SupplierCall)} ({_call_columns})
    SELECT o.{_offer_supplier}, o.{_offer_pk}, '{SupplierCall.Operation.SUBMIT}', '',
           CASE WHEN (o.{_offer_pk} * 13 + g * 7) %% 100 < rates.pct
                THEN '{SupplierCall.Outcome.SUCCESS}'
                ELSE '{SupplierCall.Outcome.TIMEOUT}' END,
           50 + ((o.{_offer_pk} * 37 + g * 101) %% 900), '',
           now() - ((g * 97 %% 3500) || ' seconds')::interval
    FROM {table(SupplierOffer)} o
    JOIN {table(Supplier)} sp ON sp.{column(Supplier, "pk")} = o.{_offer_supplier}
    JOIN (SELECT unnest(%s::text[]) AS name, unnest(%s::int[]) AS pct) rates
         ON rates.name = sp.{column(Supplier, "name")},
         generate_series(1, 30) AS g
    WHERE o.{_offer_pk} = ANY(%s)
"""


def _say(stdout, line):
    if stdout is not None:
        stdout.write(line)


def _marker_name(skus, codes):
    return f"bench inventory skus={skus} codes={codes}"


def delete_data_set(stdout=None) -> None:
    skus = Sku.objects.filter(product__category__slug=SLUG)
    _say(stdout, "inventory bench: deleting the data set")
    with connection.cursor() as cursor:
        # Raw: millions of codes, no signals or cascades to collect.
        cursor.execute(DELETE_CODES, [SLUG])
    CardBatch.objects.filter(sku__in=skus).delete()
    Supplier.objects.filter(name__startswith="bench-").delete()  # offers, calls
    skus.delete()  # alerts, sales days
    Product.objects.filter(category__slug=SLUG).delete()
    Category.objects.filter(slug=SLUG).delete()


def build(*, skus: int, codes: int, stdout=None) -> None:
    started = time.perf_counter()
    with transaction.atomic():
        # Named after its sizes only once complete: a build that was interrupted
        # is not mistaken for a finished one and is rebuilt.
        category = Category.objects.create(
            name="bench inventory (building)", slug=SLUG, sort_order=9999
        )
        products = [
            Product.objects.create(
                category=category, name=f"压测商品{n}", status=Product.Status.LISTED
            )
            for n in range(max(1, skus // 20))
        ]
        rows = []
        for n in range(skus):
            kind = n % 10
            if kind < 6:
                delivery, mode = Sku.DeliveryType.CARD, Sku.StockMode.CODES
            elif kind < 9:
                delivery, mode = Sku.DeliveryType.TOPUP, Sku.StockMode.UNLIMITED
            else:
                delivery, mode = Sku.DeliveryType.MANUAL, Sku.StockMode.COUNTER
            rows.append(
                Sku(
                    product=products[n % len(products)],
                    code=f"{PREFIX}{n:06d}",
                    name=f"规格{n}",
                    delivery_type=delivery,
                    stock_mode=mode,
                    stock=(n * 7) % 60 if mode == Sku.StockMode.COUNTER else 0,
                    low_stock_threshold=50,
                    price=Decimal("10.00"),
                    cost_price=Decimal("9.00"),
                )
            )
        Sku.objects.bulk_create(rows, batch_size=1000)
        bench_skus = Sku.objects.filter(product__category=category).order_by("pk")
        card_ids = list(
            bench_skus.filter(delivery_type=Sku.DeliveryType.CARD).values_list(
                "pk", flat=True
            )
        )
        topup_ids = list(
            bench_skus.filter(delivery_type=Sku.DeliveryType.TOPUP).values_list(
                "pk", flat=True
            )
        )
        suppliers = [
            Supplier.objects.create(
                name=name,
                endpoint="http://127.0.0.1:9/bench",
                merchant_id=f"bench-{n}",
                is_sandbox=True,
            )
            for n, (name, _rate) in enumerate(SUPPLIERS)
        ]
        SupplierOffer.objects.bulk_create(
            [
                SupplierOffer(
                    sku_id=sku_id,
                    supplier=suppliers[(n + k) % len(suppliers)],
                    supplier_sku=f"B{sku_id}-{k}",
                    cost=Decimal("9.00"),
                    priority=10 + k,
                )
                for n, sku_id in enumerate(topup_ids)
                for k in range(2)
            ],
            batch_size=1000,
        )
        # Codes go to all card SKUs but the last few (sold out); sku index grows
        # with sqrt(position), so early SKUs get few codes (low) and late ones many.
        holders = card_ids[: max(1, len(card_ids) - 5)]
        batches = {
            sku_id: CardBatch.objects.create(
                sku_id=sku_id,
                file_name="bench.txt",
                file_format="txt",
                status=CardBatch.Status.DONE,
            ).pk
            for sku_id in holders
        }
    _say(
        stdout, f"inventory bench: {skus} SKUs in {time.perf_counter() - started:.1f}s"
    )

    sku_array = list(holders)
    batch_array = [batches[pk] for pk in holders]
    for first in range(0, codes, CHUNK):
        last = min(codes, first + CHUNK) - 1
        chunk_started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            _skip_fk_triggers(cursor)
            cursor.execute(
                INSERT_CODES,
                [sku_array, batch_array, first, last, len(holders), max(codes, 1)],
            )
        _say(
            stdout,
            f"inventory bench: codes {last + 1}/{codes} "
            f"({time.perf_counter() - chunk_started:.1f}s)",
        )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(SET_STOCK_FROM_CODES, [card_ids, card_ids])
        cursor.execute(f"ANALYZE {table(CardCode)}")
    Category.objects.filter(pk=category.pk).update(name=_marker_name(skus, codes))
    _say(stdout, f"inventory bench: built in {time.perf_counter() - started:.1f}s")


def _skip_fk_triggers(cursor) -> None:
    """Bulk load without the deferred foreign-key check per row (every sku_id and
    batch_id inserted comes from rows just read). Needs a superuser; without the
    privilege the load simply runs slower."""
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        pass


def refresh_ageing_rows(stdout=None) -> dict:
    """Sales of the last 8 days and supplier calls of the last hour, relative to
    now, so that a reused data set looks alive."""
    today = timezone.localdate()
    skus = Sku.objects.filter(product__category__slug=SLUG)
    with transaction.atomic(), connection.cursor() as cursor:
        SkuSalesDay.objects.filter(sku__in=skus).delete()
        cursor.execute(
            INSERT_SALES_DAYS, [today, list(skus.values_list("pk", flat=True))]
        )
        offers = SupplierOffer.objects.filter(sku__in=skus)
        SupplierCall.objects.filter(offer__in=offers).delete()
        flaky = {
            name: int(rate * 100) for name, rate in SUPPLIERS
        }  # success percent by supplier name
        cursor.execute(
            INSERT_SUPPLIER_CALLS,
            [
                list(flaky),
                list(flaky.values()),
                list(offers.values_list("pk", flat=True)),
            ],
        )
        calls = cursor.rowcount
    with connection.cursor() as cursor:  # fresh statistics for the planner
        cursor.execute(f"ANALYZE {table(SupplierCall)}")
        cursor.execute(f"ANALYZE {table(SkuSalesDay)}")
    _say(stdout, f"inventory bench: refreshed sales days and {calls} supplier calls")
    return {"supplier_calls_last_hour": calls}


def _staff_user():
    user, created = User.objects.get_or_create(
        username="bench-inventory-ops", defaults={"is_staff": True}
    )
    if created:
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name=ROLE_BY_CODE["operations"].group_name))
    return user


def measure(*, requests: int, stdout=None) -> dict:
    # The test client's host, and static URLs without a collectstatic manifest.
    storages = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }
    with override_settings(
        ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"], STORAGES=storages
    ):
        return _measure(requests=requests, stdout=stdout)


def _measure(*, requests: int, stdout=None) -> dict:
    client = Client()
    client.force_login(_staff_user())
    figures = {}
    for label, path, params in VARIANTS:
        response = client.get(path, params)  # warm up
        if response.status_code != 200:
            raise RuntimeError(f"{path} {params} answered {response.status_code}")
        executed = []

        def count(execute, sql, params, many, context, executed=executed):
            executed.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(path, params)
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            client.get(path, params)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        figures[f"{label}_p50_ms"] = round(statistics.median(timings), 1)
        figures[f"{label}_p95_ms"] = round(
            timings[max(0, int(len(timings) * 0.95) - 1)], 1
        )
        figures[f"{label}_queries"] = len(executed)
        _say(
            stdout,
            f"inventory bench: {label}: p50 {figures[f'{label}_p50_ms']} ms, "
            f"p95 {figures[f'{label}_p95_ms']} ms, "
            f"{figures[f'{label}_queries']} queries",
        )
    return figures


@benchmark(
    "inventory_monitor",
    help="Inventory monitor server time and query count on a large catalog "
    "(PostgreSQL).",
    arguments=[
        ("--skus", {"type": int, "default": 1000}),
        ("--codes", {"type": int, "default": 5_000_000}),
        ("--requests", {"type": int, "default": 20}),
        ("--cleanup", {"action": "store_true", "default": False}),
    ],
)
def inventory_monitor(*, skus, codes, requests, cleanup, stdout) -> dict:
    if connection.vendor != "postgresql":
        raise CommandError("inventory_monitor measures PostgreSQL: set DATABASE_URL.")
    if cleanup:
        delete_data_set(stdout)
        return {"cleaned_up": True}
    if skus < 1 or codes < 0 or requests < 1:
        raise CommandError("--skus and --requests must be at least 1, --codes >= 0.")

    marker = Category.objects.filter(slug=SLUG).first()
    reused = marker is not None and marker.name == _marker_name(skus, codes)
    if marker is not None and not reused:
        delete_data_set(stdout)
    build_seconds = 0.0
    if not reused:
        started = time.perf_counter()
        build(skus=skus, codes=codes, stdout=stdout)
        build_seconds = round(time.perf_counter() - started, 1)
    figures = {
        "skus": skus,
        "codes": codes,
        "reused_data_set": reused,
        "build_seconds": build_seconds,
        "requests": requests,
    }
    figures.update(refresh_ageing_rows(stdout))

    bench_ids = list(
        Sku.objects.filter(product__category__slug=SLUG).values_list("pk", flat=True)
    )
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"
    ):
        started = time.perf_counter()
        report = check_stock_alerts(sku_ids=bench_ids)
        figures["check_stock_alerts_ms"] = round(
            (time.perf_counter() - started) * 1000, 1
        )
    figures["alerts_opened"] = len(report.opened)
    figures["skus_paused"] = len(report.paused)
    figures.update(measure(requests=requests, stdout=stdout))
    return figures
