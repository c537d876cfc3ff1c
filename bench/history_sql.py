"""generate_history on PostgreSQL: the rows are made inside the database.

Python makes only the small tables of the shape (an inverse cumulative
distribution for the day, the hour per category and the SKU, each an array
passed as a parameter); every buyer, order, login and product view is an
INSERT … SELECT over generate_series with random() (seeded with setseed, so
a seed gives the same history). Ten million orders load in minutes where the
row-by-row COPY of bench.history needs most of an hour.

What it writes, and how it keeps the apps' invariants:

- **Buyers** joined from 180 days before the first day until now, one every
  `span / buyers` seconds in id order, so an order's buyer is drawn among the
  buyers who had joined by then (date_joined never follows the first order)
  with a long tail (random() ** 1.6: the early buyers are the big ones); the
  signup weeks make the retention cohorts.
- **Orders**, one statement per shop day (Asia/Shanghai): the day's count from
  the weekday, holiday and growth weights of bench.history, the SKU from the
  category shares (cheaper face values sell more), the hour from the
  category's own peak (shop time), 15 % of them for 2–5 units; statuses 3 %
  refunded, 1 % half refunded, `unpaid_share` cancelled unpaid (the payment
  timed out: no paid_at, no method), the rest delivered; 55 % wallet, 45 %
  gateway; no guest orders (their contact is encrypted by the app, which SQL
  cannot do). Ids and order numbers follow time, as a live shop's do. Today
  holds only the hours gone. Columns the statements do not name take the
  field's default, prepared by the field (an encrypted empty contact stays
  what the app writes). Buyers get no phone: contacts are encrypted by the
  app (kameng.fields), which SQL cannot do.
- **Behaviour** of the last `BEHAVIOUR_DAYS` days (raw rows, younger than the
  tracking retention): product views and shop logins, most by buyers of that
  day's orders shortly before ordering (the funnel's viewers who order), the
  rest by other buyers browsing.
- **Derived rows** as bench.history: BuyerStats and CategoryPurchase from the
  paid orders (set-based), then each buyer's member level from that growth
  (users.levels' thresholds; the four demo levels are created when there is
  none).

Skipped for history, as bench.history skips them: OrderEvent, Payment,
wallet ledger lines, RefundRequest, card codes, LevelChange and older
BehaviourDay counts. No analytics reader needs them: the dashboard, reports,
rollups, cohorts and funnel read orders (status, amounts, paid_at,
created_at, buyer), users (date_joined, member level), raw behaviour and
BuyerStats only.

During the load the session skips foreign-key triggers
(session_replication_role = replica, when the role may; every id is made
from the ranges just inserted) and, from `DROP_INDEXES_FROM` orders on, the
secondary indexes of orders, views and logins are dropped and built again
afterwards (one sorted build each instead of ten million random inserts).
"""

from __future__ import annotations

import itertools
import json
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, models, transaction
from django.utils import timezone

from bench.schema import column, insert_columns, table
from catalog.models import Product, Sku
from orders.models import Order
from users.models import BuyerStats, LoginEvent, MemberLevel, ProductView, User

BEHAVIOUR_DAYS = 60  # the dashboard's 30 days and the 30 before them
JOINED_BEFORE_DAYS = 180
ICDF_SIZE = 10_000  # resolution of the inverse distributions (SKU, hour)
DROP_INDEXES_FROM = 1_000_000
DAY_STATEMENT_ROWS = 200_000  # one INSERT at most this many orders
REFUNDED_SHARE = Decimal("0.03")
PARTLY_REFUNDED_SHARE = Decimal("0.01")
ORDER_VIEW_SHARE = 0.7  # views and logins that belong to an order
PAID = ("delivered", "refunded", "partially_refunded")


def inverse_cdf(weights: list[float], size: int = ICDF_SIZE) -> list[int]:
    """1-based indexes such that element k (of `size`) is the item whose
    cumulative share first passes (k + 0.5) / size: a random element of the
    array is an item drawn with these weights."""
    total = sum(weights)
    cumulative = list(itertools.accumulate(w / total for w in weights))
    result, item = [], 0
    for k in range(size):
        point = (k + 0.5) / size
        while item < len(weights) - 1 and cumulative[item] < point:
            item += 1
        result.append(item + 1)
    return result


def split_count(total: int, weights: list[float]) -> list[int]:
    """`total` split by `weights` into whole numbers that add up exactly."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(share) for share in shares]
    rest = total - sum(counts)
    by_remainder = sorted(
        range(len(weights)), key=lambda i: shares[i] - counts[i], reverse=True
    )
    for i in by_remainder[:rest]:
        counts[i] += 1
    return counts


def insert_sql(model: type[models.Model], expressions: dict[str, str], source: str):
    """INSERT INTO model's table (every column) SELECT the SQL `expressions` (by
    field name; named parameters only) and every other field's default, FROM
    `source`. Returns (sql, the defaults as named parameters)."""
    names, selects, params = [], [], {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            [table(model)],
        )
        existing = dict(cursor.fetchall())
    for field in model._meta.concrete_fields:
        if field.name in expressions:
            names.append(field.name)
            selects.append(expressions[field.name])
            continue
        if field.primary_key or field.column not in existing:
            continue  # a column another branch's migration has not added yet
        key = f"default_{len(params)}"
        if existing[field.column] == "jsonb":
            value = json.dumps(field.get_default())
            selects.append(f"%({key})s::jsonb")
        else:
            value = field.get_db_prep_save(field.get_default(), connection)
            selects.append(f"%({key})s")
        names.append(field.name)
        params[key] = value
    columns = insert_columns(model, *names)
    return (
        f"INSERT INTO {table(model)} ({columns}) SELECT {', '.join(selects)} {source}",
        params,
    )


def ensure_levels() -> list[tuple[int, Decimal]]:
    """(id, growth threshold) of the member levels, lowest first; the demo's
    four when the shop has none."""
    if not MemberLevel.objects.exists():
        from users.demo import seed_levels

        seed_levels()
    return list(
        MemberLevel.objects.order_by("growth_threshold", "rank").values_list(
            "pk", "growth_threshold"
        )
    )


def assign_levels(low: int, high: int) -> None:
    """Each buyer's level from the growth BuyerStats holds (users.levels'
    level_for: the highest threshold reached), set directly as the daily
    review would."""
    ml, s, u = MemberLevel, BuyerStats, User
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table(u)} SET {column(u, 'member_level')} = ("
            f"SELECT l.{column(ml, 'pk')} FROM {table(ml)} l "
            f"WHERE l.{column(ml, 'growth_threshold')} <= s.{column(s, 'growth')} "
            f"ORDER BY l.{column(ml, 'growth_threshold')} DESC, "
            f"l.{column(ml, 'rank')} DESC LIMIT 1) "
            f"FROM {table(s)} s WHERE s.{column(s, 'user')} = "
            f"{table(u)}.{column(u, 'pk')} "
            f"AND s.{column(s, 'user')} BETWEEN %s AND %s",
            [low, high],
        )


def secondary_indexes(model) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the table's indexes that back no constraint
    (the primary key and unique order numbers stay)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND NOT EXISTS ("
            "SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY c.relname",
            [table(model)],
        )
        return list(cursor.fetchall())


def skip_foreign_key_checks() -> bool:
    """Foreign-key triggers off for this transaction, when the role may."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        if not row or not row[0]:
            return False
        cursor.execute("SET LOCAL session_replication_role = replica")
    return True


class PostgresHistory:
    def __init__(self, *, buyers, orders, days, seed, logins, views, unpaid_share,
                 say, now=None):  # fmt: skip
        self.buyers, self.orders, self.days = buyers, orders, days
        self.seed, self.logins, self.views = seed, logins, views
        self.unpaid_share = unpaid_share
        self.say = say
        self.now = now or timezone.now()
        self.shop_time = timezone.get_default_timezone()
        today = timezone.localdate(self.now, timezone=self.shop_time)
        self.first_day = today - timedelta(days=days - 1)
        self.base = timezone.make_aware(
            datetime.combine(self.first_day, datetime.min.time()), self.shop_time
        )
        self.early = self.base - timedelta(days=JOINED_BEFORE_DAYS)
        self.step = max((self.now - self.early).total_seconds() / max(1, buyers), 0.001)
        self.run = f"{int(time.time()) % 100000:05d}"
        self.began = time.perf_counter()

    def log(self, what: str) -> None:
        self.say(f"{what} in {time.perf_counter() - self.began:.1f}s")

    def execute(self, sql: str, params) -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    # ------------------------------------------------------------- buyers
    def load_buyers(self, first: int) -> None:
        sql, defaults = insert_sql(
            User,
            {
                "id": "g",
                "password": "'!'",
                # zero-padded: names sort as ids do, the unique index only appends
                "username": f"'h{self.run}-' || lpad(g::text, 10, '0')",
                "date_joined": "%(early)s::timestamptz "
                "+ make_interval(secs => (g - %(first)s) * %(step)s)",
                "is_staff": "false",
                "is_active": "true",
                "is_superuser": "false",
            },
            "FROM generate_series(%(first)s, %(last)s) AS g",
        )
        self.execute(
            sql,
            {
                **defaults,
                "early": self.early,
                "first": first,
                "last": first + self.buyers - 1,
                "step": self.step,
            },
        )

    # ------------------------------------------------------------- orders
    def order_statement(self, skus) -> str:
        o = Order
        source = """
        FROM (
          SELECT %(first)s + row_number() OVER (ORDER BY at) - 1 AS id, *
          FROM (
            SELECT *,
              %(first_buyer)s + floor(
                LEAST(%(buyers)s, floor(extract(epoch FROM at - %(early)s)
                      / %(step)s) + 1) * power(u_buyer, 1.6))::bigint AS buyer,
              at + make_interval(secs => 5 + u_pay * 115) AS paid,
              (%(sku_price)s::numeric[])[s] AS price,
              CASE WHEN u_status < %(unpaid)s THEN 'cancelled'
                   WHEN u_status < %(unpaid)s + %(refunded)s THEN 'refunded'
                   WHEN u_status < %(unpaid)s + %(refunded)s + %(partly)s
                        THEN 'partially_refunded'
                   ELSE 'delivered' END AS status
            FROM (
              SELECT *,
                CASE WHEN %(squeeze)s < 1 THEN %(day)s::timestamptz
                       + (at_raw - %(day)s::timestamptz) * %(squeeze)s
                     ELSE at_raw END AS at
              FROM (
                SELECT s, u_buyer, u_pay, u_status, u_method, u_second, quantity,
                  %(day)s::timestamptz + make_interval(
                    hours => (%(hours)s::int[])[
                      (%(sku_category)s::int[])[s]][1 + floor(u_hour * %(h)s)::int],
                    secs => u_second * 3600) AS at_raw
                FROM (
                  SELECT (%(sku_icdf)s::int[])[1 + floor(random() * %(k)s)::int] AS s,
                    random() AS u_hour, random() AS u_second,
                    random() AS u_buyer, random() AS u_pay, random() AS u_status,
                    random() AS u_method,
                    CASE WHEN random() < 0.85 THEN 1
                         ELSE 2 + floor(random() * 4)::int END AS quantity
                  FROM generate_series(1, %(n)s) OFFSET 0
                ) draws OFFSET 0
              ) timed OFFSET 0
            ) placed OFFSET 0
          ) decided
        ) o
        """
        price = "price"
        paid = "status <> 'cancelled'"
        expressions = {
            "id": "id",
            "order_no": f"'H{self.run}' || lpad(id::text, 12, '0')",
            "buyer": "buyer",
            "sku": "(%(sku_id)s::bigint[])[s]",
            "quantity": "quantity",
            "unit_price": price,
            "amount": f"{price} * quantity",
            "refunded_amount": f"CASE WHEN status = 'refunded' THEN {price} * quantity "
            f"WHEN status = 'partially_refunded' THEN round({price} * quantity / 2, 2) "
            "ELSE 0 END",
            "status": "status",
            "payment_method": f"CASE WHEN NOT ({paid}) THEN '' "
            "WHEN u_method < 0.55 THEN 'wallet' ELSE 'gateway' END",
            "flag": "''",
            "created_at": "at",
            "paid_at": f"CASE WHEN {paid} THEN paid END",
            "delivered_at": f"CASE WHEN {paid} THEN paid + "
            "make_interval(secs => 1 + u_second * 59) END",
            "updated_at": f"CASE WHEN {paid} THEN paid + "
            "make_interval(secs => 1 + u_second * 59) "
            "ELSE at + interval '15 minutes' END",
        }
        del skus, o
        return insert_sql(Order, expressions, source)

    def load_orders(self, first_order: int, first_buyer: int, skus) -> None:
        from bench.history import CATEGORIES, day_weights, hour_weights

        weights = day_weights(self.first_day, self.days)
        elapsed = (
            self.now - (self.base + timedelta(days=self.days - 1))
        ).total_seconds()
        squeeze = min(1.0, max(elapsed, 1.0) / 86400)
        weights[-1] *= squeeze  # today: only the hours gone
        counts = split_count(self.orders, weights)
        sku_weights = []
        for _sku, category, price, _product in skus:
            share = list(CATEGORIES.values())[category][0]
            in_category = sum(1 for row in skus if row[1] == category)
            cheapness = 1 / float(price) ** 0.5
            norm = sum(1 / float(r[2]) ** 0.5 for r in skus if r[1] == category)
            sku_weights.append(share * cheapness / norm if in_category else 0)
        hours = [
            inverse_cdf(hour_weights(peak), 1000)
            for _s, peak, _p in CATEGORIES.values()
        ]
        # 1-based positions in the hours array are categories + 1; hour = index - 1
        hours = [[h - 1 for h in row] for row in hours]
        sql, named = self.order_statement(skus)
        fixed = {
            **named,
            "first_buyer": first_buyer,
            "buyers": self.buyers,
            "early": self.early,
            "step": self.step,
            "unpaid": self.unpaid_share,
            "refunded": float(REFUNDED_SHARE),
            "partly": float(PARTLY_REFUNDED_SHARE),
            "hours": hours,
            "h": 1000,
            "sku_category": [category + 1 for _s, category, _p, _pr in skus],
            "sku_icdf": inverse_cdf(sku_weights),
            "k": ICDF_SIZE,
            "sku_price": [price for _s, _c, price, _p in skus],
            "sku_id": [sku for sku, _c, _p, _pr in skus],
        }
        next_id = first_order
        for offset, count in enumerate(counts):
            day = self.base + timedelta(days=offset)
            last_day = offset == self.days - 1
            while count > 0:
                n = min(count, DAY_STATEMENT_ROWS)
                self.execute(
                    sql,
                    {
                        **fixed,
                        "first": next_id,
                        "n": n,
                        "day": day,
                        "squeeze": squeeze if last_day else 1.0,
                    },
                )
                next_id += n
                count -= n
            if offset % 30 == 29:
                self.log(f"  orders of {offset + 1} days: {next_id - first_order}")

    # ---------------------------------------------------------- behaviour
    def behaviour(self, *, model, count, first_buyer, first_order, last_order,
                  expressions, lead_minutes):  # fmt: skip
        """`count` rows of views or logins: ORDER_VIEW_SHARE of them by the
        buyer of a random order of the window shortly before it was placed, the
        rest by a random buyer at a random time of the window."""
        window_start = self.now - timedelta(days=min(self.days, BEHAVIOUR_DAYS))
        source = f"""
        FROM (
          SELECT d.*, o.{column(Order, "buyer")} AS order_buyer,
                 o.{column(Order, "created_at")} AS order_at,
                 p.{column(Sku, "product")} AS order_product
          FROM (
            SELECT g, random() < %(share)s AS from_order,
              %(lo)s + floor(random() * (%(hi)s - %(lo)s + 1))::bigint AS pick,
              %(first_buyer)s + floor(LEAST(%(buyers)s, floor(extract(epoch FROM
                %(now)s::timestamptz - %(early)s) / %(step)s) + 1)
                * power(random(), 1.3))::bigint AS any_buyer,
              %(window)s::timestamptz + (%(now)s::timestamptz - %(window)s)
                * random() AS any_at,
              (%(products)s::bigint[])[1 + floor(random() * %(n_products)s)::int]
                AS any_product,
              random() AS u_lead
            FROM generate_series(1, %(count)s) AS g OFFSET 0
          ) d
          LEFT JOIN {table(Order)} o
            ON d.from_order AND o.{column(Order, "pk")} = d.pick
            AND o.{column(Order, "pk")} BETWEEN %(lo)s AND %(hi)s
          LEFT JOIN {table(Sku)} p ON p.{column(Sku, "pk")} = o.{column(Order, "sku")}
        ) b
        """
        who = "COALESCE(order_buyer, any_buyer)"
        when = (
            "CASE WHEN order_buyer IS NOT NULL THEN order_at - make_interval("
            f"secs => u_lead * {lead_minutes * 60}) ELSE any_at END"
        )
        what = (
            "CASE WHEN order_buyer IS NOT NULL THEN order_product ELSE any_product END"
        )
        exprs = {
            name: value.replace("{who}", who)
            .replace("{when}", when)
            .replace("{what}", what)
            for name, value in expressions.items()
        }
        sql, named = insert_sql(model, exprs, source)
        with connection.cursor() as cursor:
            # One hash of the window's orders, not millions of index lookups.
            cursor.execute("SET LOCAL enable_nestloop = off")
            cursor.execute("SET LOCAL work_mem = '256MB'")
        products = sorted({product for _s, _c, _p, product in self.skus})
        self.execute(
            sql,
            {
                **named,
                "share": ORDER_VIEW_SHARE if last_order >= first_order else 0.0,
                "lo": first_order,
                "hi": max(first_order, last_order),
                "first_buyer": first_buyer,
                "buyers": self.buyers,
                "now": self.now,
                "early": self.early,
                "step": self.step,
                "window": window_start,
                "products": products,
                "n_products": len(products),
                "count": count,
            },
        )
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_nestloop = on")

    @contextmanager
    def indexes_built_after(self, *models):
        """From DROP_INDEXES_FROM orders on, the tables' secondary indexes are
        dropped for the load and built again after it: one sorted build each
        instead of a random insert into every index per row (the views' and
        logins' user indexes were most of their load)."""
        dropped = []
        if self.orders >= DROP_INDEXES_FROM:
            dropped = [index for model in models for index in secondary_indexes(model)]
            with connection.cursor() as cursor:
                for name, _definition in dropped:
                    cursor.execute(f'DROP INDEX "{name}"')
        yield
        if dropped:
            with connection.cursor() as cursor:
                for _name, definition in dropped:
                    cursor.execute(definition)
            tables = " and ".join(model._meta.db_table for model in models)
            self.log(f"{len(dropped)} indexes of {tables} built")

    def window_orders(self, first_order: int) -> tuple[int, int]:
        window_start = self.now - timedelta(days=min(self.days, BEHAVIOUR_DAYS))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT MIN({column(Order, 'pk')}), MAX({column(Order, 'pk')}) "
                f"FROM {table(Order)} WHERE {column(Order, 'pk')} >= %s "
                f"AND {column(Order, 'created_at')} >= %s",
                [first_order, window_start],
            )
            low, high = cursor.fetchone()
        return (low or first_order, high or first_order - 1)

    # ---------------------------------------------------------------- all
    def generate(self):
        from bench.history import (
            HistoryReport,
            _next_id,
            _reset_sequence,
            analyze_history_tables,
            derive_figures,
            ensure_catalog,
        )

        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
                cursor.execute("SET LOCAL work_mem = '64MB'")
                cursor.execute("SELECT setseed(%s)", [(self.seed % 10_000) / 10_000])
            fk_skipped = skip_foreign_key_checks()
            self.skus = skus = ensure_catalog()
            ensure_levels()
            first_buyer = _next_id(User)
            self.load_buyers(first_buyer)
            _reset_sequence(User)
            self.log(f"buyers: {self.buyers}")
            first_order = _next_id(Order)
            with self.indexes_built_after(Order):
                self.load_orders(first_order, first_buyer, skus)
                _reset_sequence(Order)
                self.log(f"orders: {self.orders}")
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {table(Order)}")
            low, high = self.window_orders(first_order)
            common = {
                "first_buyer": first_buyer,
                "first_order": low,
                "last_order": high,
            }
            with self.indexes_built_after(ProductView, LoginEvent):
                self.behaviour(
                    model=ProductView,
                    count=self.views,
                    expressions={
                        "user": "{who}",
                        "product_id": "{what}",
                        "created_at": "{when}",
                    },
                    lead_minutes=30,
                    **common,
                )
                self.behaviour(
                    model=LoginEvent,
                    count=self.logins,
                    expressions={
                        "user": "{who}",
                        "username": f"'h{self.run}-' || lpad({{who}}::text, 10, '0')",
                        "success": "true",
                        "area": "'shop'",
                        "ip": "('10.' || floor(random() * 256)::int || '.' || "
                        "floor(random() * 256)::int || '.' || "
                        "(1 + floor(random() * 254)::int))::inet",
                        "user_agent": "'Mozilla/5.0 (模拟)'",
                        "created_at": "{when}",
                    },
                    lead_minutes=120,
                    **common,
                )
                self.log(f"logins and views: {self.logins + self.views}")
            buyers = range(first_buyer, first_buyer + self.buyers)
            with connection.cursor() as cursor:
                # Every order of the run is read: one pass over the table and a
                # hash per buyer, not ten million index lookups in buyer order.
                cursor.execute("SET LOCAL enable_indexscan = off")
                cursor.execute("SET LOCAL enable_bitmapscan = off")
                cursor.execute("SET LOCAL work_mem = '256MB'")
            derive_figures(buyers, fix_joined=False)
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_indexscan = on")
                cursor.execute("SET LOCAL enable_bitmapscan = on")
            assign_levels(first_buyer, first_buyer + self.buyers - 1)
            self.log("buyer figures and levels")
            del fk_skipped
        analyze_history_tables()
        return HistoryReport(
            buyers=self.buyers,
            orders=self.orders,
            logins=self.logins,
            views=self.views,
            seconds=round(time.perf_counter() - self.began, 1),
            vendor=connection.vendor,
        )


def first_history_day(days: int, now=None) -> date:
    now = now or timezone.now()
    return timezone.localdate(
        now, timezone=timezone.get_default_timezone()
    ) - timedelta(days=days - 1)


del Product
