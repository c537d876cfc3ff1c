"""Synthetic shop history for benchmarks and demos: `manage.py generate_history`.

Buyers, paid orders (with refunds), logins and product views over D days,
shaped like a 卡盟's: more orders at the weekend and in the evening, each
category with its own peak hour (phone top-ups at 20:00, game cards late at
night), spikes on 618, 双11 and 双12, a few big buyers and many small ones.
Rows go in with COPY on PostgreSQL (psycopg 3's copy) and with batched
INSERTs on SQLite. Then the per-buyer figures the apps keep from order events
(users.BuyerStats, marketing.CategoryPurchase) are computed in SQL from the
orders, as their receivers would have, one order at a time.

The analytics issue extends this module (its rollups are filled the same way,
after the orders): add a step to `generate` and a flag to the command.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, models, transaction
from django.utils import timezone

from bench.schema import column, table
from catalog.models import Category, Product, Sku
from marketing.models import CategoryPurchase
from orders.models import Order
from users.models import BuyerStats, LoginEvent, ProductView, User

WEEKDAY_WEIGHT = (1.0, 0.95, 0.95, 1.0, 1.1, 1.35, 1.3)  # Monday … Sunday
HOLIDAYS = {  # (month, day): weight of that day
    (6, 17): 2.0,
    (6, 18): 4.0,  # 618
    (6, 19): 1.6,
    (11, 10): 2.5,
    (11, 11): 6.0,  # 双11
    (11, 12): 2.0,
    (12, 12): 3.0,  # 双12
    (1, 1): 1.5,
}
# category: (share of orders, peak hour, prices of its SKUs)
CATEGORIES = {
    "话费充值": (0.34, 20, ("30.00", "50.00", "100.00", "200.00")),
    "游戏点卡": (0.28, 22, ("10.00", "30.00", "68.00", "128.00", "648.00")),
    "视频会员": (0.18, 21, ("19.80", "25.00", "68.00", "218.00")),
    "音乐会员": (0.08, 19, ("8.80", "15.00", "88.00")),
    "网盘会员": (0.07, 14, ("9.90", "30.00", "198.00")),
    "外卖红包": (0.05, 11, ("5.00", "10.00", "20.00")),
}
REFUNDED_SHARE = 0.03
PARTLY_REFUNDED_SHARE = 0.01
CHUNK = 50_000


@dataclass
class HistoryReport:
    buyers: int
    orders: int
    logins: int
    views: int
    seconds: float
    vendor: str


def hour_weights(peak: int) -> list[float]:
    """Quiet before dawn, a lunch bump, the evening peak at `peak`."""
    weights = []
    for hour in range(24):
        base = 0.15 if 2 <= hour <= 7 else 1.0
        lunch = 0.6 if hour in (12, 13) else 0.0
        distance = min(abs(hour - peak), 24 - abs(hour - peak))
        weights.append(base + lunch + 3.0 * max(0.0, 1 - distance / 3))
    return weights


def day_weights(start: date, days: int) -> list[float]:
    weights = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        weight = WEEKDAY_WEIGHT[day.weekday()] * HOLIDAYS.get((day.month, day.day), 1)
        weights.append(weight * (0.8 + 0.4 * offset / max(1, days)))  # growth
    return weights


def cumulative(weights) -> list[float]:
    return list(itertools.accumulate(weights))


def pick(cum: list[float], rng: random.Random) -> int:
    return bisect.bisect(cum, rng.random() * cum[-1])


def ensure_catalog() -> list[tuple[int, int, Decimal, int]]:
    """The categories, products and SKUs the history sells (created once):
    (sku id, category index, price, product id) rows."""
    rows = []
    for index, (name, (_share, _peak, prices)) in enumerate(CATEGORIES.items()):
        category, _ = Category.objects.get_or_create(
            slug=f"history-{index}", defaults={"name": f"{name}（模拟）"}
        )
        product, _ = Product.objects.get_or_create(
            category=category,
            name=f"{name}（模拟数据）",
            defaults={"status": Product.Status.LISTED},
        )
        for price in prices:
            sku, _ = Sku.objects.get_or_create(
                code=f"HIST-{index}-{price}",
                defaults={
                    "product": product,
                    "name": f"面值 {price}",
                    "delivery_type": Sku.DeliveryType.MANUAL,
                    "stock_mode": Sku.StockMode.UNLIMITED,
                    "price": Decimal(price),
                    "cost_price": (Decimal(price) * Decimal("0.92")).quantize(
                        Decimal("0.01")
                    ),
                },
            )
            rows.append((sku.pk, index, sku.price, product.pk))
    return rows


def default_row(model: type[models.Model], given: dict) -> tuple[list[str], list]:
    """Every concrete column of `model` but the primary key: `given` values
    (by field name) or the field's default, as COPY and INSERT need them all."""
    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.name not in given:
            continue
        names.append(column(model, field.name))
        if field.name in given:
            values.append(given[field.name])
            continue
        value = field.get_default()
        if isinstance(field, models.JSONField):
            value = json.dumps(value)
        else:  # as the field stores it: an encrypted column's default is ""
            value = field.get_prep_value(value)
        values.append(value)
    return names, values


class Loader:
    """COPY on PostgreSQL, executemany on SQLite; both per chunk of rows."""

    def __init__(self, model, fields: list[str], defaults: dict):
        self.model = model
        self.fields = fields
        names, values = default_row(model, {**defaults, **{f: None for f in fields}})
        field_columns = [column(model, f) for f in fields]
        self.columns = names
        self.template = values
        self.slots = [names.index(c) for c in field_columns]

    def rows(self, chunk):
        template, slots = self.template, self.slots
        for values in chunk:
            row = list(template)
            for slot, value in zip(slots, values, strict=True):
                row[slot] = value
            yield row

    def load(self, chunk) -> None:
        names = ", ".join(self.columns)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                raw = cursor.cursor
                with raw.copy(f"COPY {table(self.model)} ({names}) FROM STDIN") as copy:
                    for row in self.rows(chunk):
                        copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(self.columns))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table(self.model)} ({names}) VALUES ({marks})",
                list(self.rows(chunk)),
            )


def _next_id(model) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(MAX({column(model, 'pk')}), 0) FROM {table(model)}"
        )
        return cursor.fetchone()[0] + 1


def _reset_sequence(model) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, %s), "
            f"(SELECT MAX({column(model, 'pk')}) FROM {table(model)}))",
            [table(model), column(model, "pk")],
        )


def load_buyers(*, count: int, start: datetime, days: int, rng, run: str) -> list[int]:
    first = _next_id(User)
    loader = Loader(
        User,
        ["id", "username", "date_joined"],
        {"password": "!", "is_staff": False, "is_active": True, "is_superuser": False},
    )
    span = (days + 180) * 86400
    early = start - timedelta(days=180)
    ids = list(range(first, first + count))
    for offset in range(0, count, CHUNK):
        chunk = [
            (pk, f"h{run}-{pk}", early + timedelta(seconds=rng.random() * span))
            for pk in ids[offset : offset + CHUNK]
        ]
        loader.load(chunk)
    _reset_sequence(User)
    return ids


def load_orders(*, count: int, buyers: list[int], skus, start, days, rng, run) -> int:
    days_cum = cumulative(day_weights(start.date(), days))
    shares = [share for share, _peak, _prices in CATEGORIES.values()]
    hours_cum = [cumulative(hour_weights(peak)) for _s, peak, _p in CATEGORIES.values()]
    by_category = {}
    for sku_id, index, price, _product in skus:
        by_category.setdefault(index, []).append((sku_id, price))
    categories = list(range(len(CATEGORIES)))
    loader = Loader(
        Order,
        [
            "id",
            "order_no",
            "buyer",
            "sku",
            "quantity",
            "unit_price",
            "amount",
            "refunded_amount",
            "status",
            "payment_method",
            "created_at",
            "paid_at",
            "delivered_at",
            "updated_at",
        ],
        {"contact": "", "flag": ""},
    )
    first = _next_id(Order)
    n_buyers = len(buyers)
    statuses = Order.Status
    for offset in range(0, count, CHUNK):
        size = min(CHUNK, count - offset)
        picks = rng.choices(categories, weights=shares, k=size)
        chunk = []
        for i, category in enumerate(picks):
            pk = first + offset + i
            day = pick(days_cum, rng)
            hour = pick(hours_cum[category], rng)
            at = start + timedelta(days=day, hours=hour, seconds=rng.randrange(3600))
            sku_id, price = rng.choice(by_category[category])
            quantity = 1 if rng.random() < 0.85 else rng.randint(2, 5)
            amount = price * quantity
            buyer = buyers[int(n_buyers * rng.random() ** 2.2)]  # a long tail
            roll = rng.random()
            if roll < REFUNDED_SHARE:
                status, refunded = statuses.REFUNDED, amount
            elif roll < REFUNDED_SHARE + PARTLY_REFUNDED_SHARE:
                status = statuses.PARTIALLY_REFUNDED
                refunded = (amount / 2).quantize(Decimal("0.01"))
            else:
                status, refunded = statuses.DELIVERED, Decimal("0.00")
            method = "wallet" if rng.random() < 0.55 else "gateway"
            paid = at + timedelta(seconds=rng.randrange(5, 120))
            chunk.append(
                (
                    pk,
                    f"H{run}{pk:012d}",
                    buyer,
                    sku_id,
                    quantity,
                    price,
                    amount,
                    refunded,
                    status,
                    method,
                    at,
                    paid,
                    paid + timedelta(seconds=rng.randrange(1, 60)),
                    paid,
                )
            )
        loader.load(chunk)
    _reset_sequence(Order)
    return count


def load_behaviour(*, logins: int, views: int, buyers, skus, now, rng) -> None:
    """Logins and product views of the last 30 days (raw rows; older ones
    would have been rolled up by the tracking retention)."""
    products = sorted({product for _s, _c, _p, product in skus})
    window = 30 * 86400
    login_loader = Loader(
        LoginEvent,
        ["user", "username", "created_at", "ip"],
        {"success": True, "area": "shop", "user_agent": "Mozilla/5.0 (模拟)"},
    )
    view_loader = Loader(ProductView, ["user", "product_id", "created_at"], {})
    n = len(buyers)
    for offset in range(0, logins, CHUNK):
        chunk = []
        for _ in range(min(CHUNK, logins - offset)):
            user = buyers[int(n * rng.random() ** 1.5)]
            chunk.append(
                (
                    user,
                    f"buyer{user}",
                    now - timedelta(seconds=rng.random() * window),
                    f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",  # noqa: E501
                )
            )
        login_loader.load(chunk)
    for offset in range(0, views, CHUNK):
        chunk = [
            (
                buyers[rng.randrange(n)],
                rng.choice(products),
                now - timedelta(seconds=rng.random() * window),
            )
            for _ in range(min(CHUNK, views - offset))
        ]
        view_loader.load(chunk)


def analyze_history_tables() -> None:
    """Fresh planner statistics for the tables a history load filled
    (PostgreSQL): the analytics reads that follow are planned on them."""
    with connection.cursor() as cursor:
        for model in (
            User,
            Order,
            BuyerStats,
            CategoryPurchase,
            ProductView,
            LoginEvent,
        ):
            cursor.execute(f"ANALYZE {table(model)}")


def derive_figures(buyers, *, fix_joined: bool = True) -> None:
    """What the users and marketing receivers of order_paid would have kept:
    BuyerStats per buyer and CategoryPurchase per buyer and category, from the
    generated orders (set-based), and unless told not to (the PostgreSQL path
    draws buyers among those already joined) the buyers' join dates moved
    before their first order."""
    low, high = buyers[0], buyers[-1]
    o, s, cp, u = Order, BuyerStats, CategoryPurchase, User
    paid = ("delivered", "refunded", "partially_refunded")
    placeholders = ", ".join(["%s"] * len(paid))
    net = f"SUM(o.{column(o, 'amount')} - o.{column(o, 'refunded_amount')})"
    method = f"o.{column(o, 'payment_method')}"
    category = column(Product, "category")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table(s)} ({column(s, 'user')}, {column(s, 'growth')}, "
            f"{column(s, 'total_spent')}, {column(s, 'order_count')}, "
            f"{column(s, 'last_order_at')}, {column(s, 'wallet_payments')}, "
            f"{column(s, 'gateway_payments')}) "
            f"SELECT o.{column(o, 'buyer')}, {net}, {net}, COUNT(*), "
            f"MAX(o.{column(o, 'paid_at')}), "
            f"SUM(CASE WHEN {method} = 'wallet' THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN {method} = 'gateway' THEN 1 ELSE 0 END) "
            f"FROM {table(o)} o WHERE o.{column(o, 'buyer')} BETWEEN %s AND %s "
            f"AND o.{column(o, 'status')} IN ({placeholders}) "
            f"GROUP BY o.{column(o, 'buyer')}",
            [low, high, *paid],
        )
        cursor.execute(
            f"INSERT INTO {table(cp)} ({column(cp, 'user')}, {column(cp, 'category')}, "
            f"{column(cp, 'orders')}, {column(cp, 'last_bought_at')}) "
            f"SELECT o.{column(o, 'buyer')}, p.{category}, COUNT(*), "
            f"MAX(o.{column(o, 'paid_at')}) "
            f"FROM {table(o)} o "
            f"JOIN {table(Sku)} k ON k.{column(Sku, 'pk')} = o.{column(o, 'sku')} "
            f"JOIN {table(Product)} p "
            f"ON p.{column(Product, 'pk')} = k.{column(Sku, 'product')} "
            f"WHERE o.{column(o, 'buyer')} BETWEEN %s AND %s "
            f"AND o.{column(o, 'status')} IN ({placeholders}) "
            f"GROUP BY o.{column(o, 'buyer')}, p.{category}",
            [low, high, *paid],
        )
        if not fix_joined:
            return
        cursor.execute(
            f"UPDATE {table(u)} SET {column(u, 'date_joined')} = earliest.at "
            f"FROM (SELECT o.{column(o, 'buyer')} AS buyer, "
            f"MIN(o.{column(o, 'created_at')}) AS at FROM {table(o)} o "
            f"WHERE o.{column(o, 'buyer')} BETWEEN %s AND %s "
            f"GROUP BY o.{column(o, 'buyer')}) earliest "
            f"WHERE {table(u)}.{column(u, 'pk')} = earliest.buyer "
            f"AND {table(u)}.{column(u, 'date_joined')} > earliest.at",
            [low, high],
        )


def generate(
    *,
    buyers: int,
    orders: int,
    days: int,
    seed: int = 618,
    logins: int | None = None,
    views: int | None = None,
    unpaid_share: float = 0.0,
    row_by_row: bool = False,
    say=print,
) -> HistoryReport:
    """On PostgreSQL the rows are made inside the database (bench.history_sql,
    which also writes unpaid orders and sets member levels); elsewhere,
    or with `row_by_row`, they are drawn here and copied in."""
    logins = orders // 4 if logins is None else logins
    views = orders // 2 if views is None else views
    if connection.vendor == "postgresql" and not row_by_row:
        from bench.history_sql import PostgresHistory

        return PostgresHistory(
            buyers=buyers,
            orders=orders,
            days=days,
            seed=seed,
            logins=logins,
            views=views,
            unpaid_share=unpaid_share,
            say=say,
        ).generate()
    rng = random.Random(seed)
    began = time.perf_counter()
    now = timezone.now()
    start = now - timedelta(days=days)
    run = f"{int(time.time()) % 100000:05d}"
    with transaction.atomic():
        skus = ensure_catalog()
        buyer_ids = load_buyers(count=buyers, start=start, days=days, rng=rng, run=run)
        say(f"buyers: {buyers} in {time.perf_counter() - began:.1f}s")
        load_orders(
            count=orders,
            buyers=buyer_ids,
            skus=skus,
            start=start,
            days=days,
            rng=rng,
            run=run,
        )
        say(f"orders: {orders} in {time.perf_counter() - began:.1f}s")
        load_behaviour(
            logins=logins, views=views, buyers=buyer_ids, skus=skus, now=now, rng=rng
        )
        say(f"logins and views: {logins + views} in {time.perf_counter() - began:.1f}s")
        derive_figures(buyer_ids)
        say(f"buyer figures in {time.perf_counter() - began:.1f}s")
    if connection.vendor == "postgresql":
        analyze_history_tables()
    return HistoryReport(
        buyers=buyers,
        orders=orders,
        logins=logins,
        views=views,
        seconds=round(time.perf_counter() - began, 1),
        vendor=connection.vendor,
    )


def rebuild_history_rollups(*, days: int) -> tuple[int, float]:
    """The rollups (sales and buyer days) of the last `days` shop days rebuilt
    from orders, the incremental refresh marked current: (rows, seconds)."""
    from analytics.rollups import mark_rollups_current, rebuild_rollups

    mark_rollups_current()
    began = time.perf_counter()
    rows = rebuild_rollups(since=timezone.localdate() - timedelta(days=days))
    return rows, round(time.perf_counter() - began, 1)
