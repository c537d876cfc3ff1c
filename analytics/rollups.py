"""Sales rollups: paid orders counted per shop hour × SKU × member level ×
payment method (analytics.SalesRollup), so dashboards and reports read
thousands of rows instead of millions of orders; and each signed-in user's shop
day (analytics.BuyerDay: visits, product views, orders placed, orders paid,
first and second payment), which answers the signup cohorts and from which
the buyer bitmaps (analytics.bitmaps: unique buyers, visitors, the funnel) are
made.

A sales day is always rebuilt whole (delete its rows, insert the database's
GROUP BY of its orders), so a rollup equals a direct query over orders whenever
it was last rebuilt. `refresh_rollups` (beat, every two minutes) rebuilds the
sales days of orders changed since the last run, with an overlap for
transactions that committed late, and only the buyer days of the users of
those orders and of the tracking events recorded since (a user's day depends
on their own rows alone), setting their bits again; `close_rollups` (nightly)
rebuilds the last days whole again, for changes that bypassed `updated_at`;
`manage.py rebuild_rollups --since DATE` rebuilds a range.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    Func,
    Min,
    Q,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import DenseRank, ExtractHour, TruncDate
from django.utils import timezone

from analytics.bitmaps import rebuild_bitmaps, refresh_blocks, update_day_bitmaps
from analytics.models import BuyerDay, RollupState, SalesDay, SalesHour, SalesRollup
from analytics.selectors import MONEY, ZERO, day_start, paid_between, root_category
from orders.models import Order
from users.models import BehaviourDay, LoginEvent, ProductView, ShopSearch, User

STATE = "sales"
BATCH = 2000
# Orders saved this long before the last run are read again: a transaction that
# stamped updated_at before the run and committed after it is not missed.
OVERLAP = timedelta(minutes=5)
CLOSE_DAYS = 2  # days the nightly close rebuilds (yesterday and the day before)
BEGINNING = datetime(2000, 1, 1, tzinfo=timezone.get_fixed_timezone(0))
# Buyer days are merged in Python: a long rebuild reads this many days at once.
BUYER_DAY_CHUNK = 7
COUPON_LAYER = "coupon"


class CouponOff(Func):
    """What the order's coupon took off: the `amount_off` of the "coupon" layer
    its price breakdown recorded at checkout (0 without one). The breakdown is
    the order's own record; the coupon row forgets the order when it is given
    back on a cancel or refund."""

    output_field = MONEY
    arity = 1
    template = (
        "(SELECT COALESCE(SUM((layer->>'amount_off')::numeric), 0) "
        "FROM jsonb_array_elements(CASE jsonb_typeof(%(expressions)s->'layers') "
        "WHEN 'array' THEN %(expressions)s->'layers' ELSE '[]'::jsonb END) AS layer "
        "WHERE layer->>'code' = '" + COUPON_LAYER + "')"
    )

    def __init__(self, breakdown="price_breakdown", **extra):
        super().__init__(F(breakdown), **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template=(
                "(SELECT COALESCE(SUM(CAST(json_extract(layer.value, '$.amount_off')"
                " AS NUMERIC)), 0) FROM json_each(CASE json_type(%(expressions)s,"
                " '$.layers') WHEN 'array' THEN json_extract(%(expressions)s,"
                " '$.layers') ELSE '[]' END) AS layer"
                " WHERE json_extract(layer.value, '$.code') = '" + COUPON_LAYER + "')"
            ),
            **extra,
        )


def rollup_cells(*, since: date, until: date):
    """The GROUP BY that fills SalesRollup for these days, one dict per cell."""
    shop_time = timezone.get_default_timezone()
    cost = ExpressionWrapper(F("sku__cost_price") * F("quantity"), output_field=MONEY)
    return (
        paid_between(since=since, until=until)
        .annotate(
            cell_day=TruncDate("paid_at", tzinfo=shop_time),
            cell_hour=ExtractHour("paid_at", tzinfo=shop_time),
            cell_category=root_category(),
            cell_level=F("buyer__member_level_id"),
            cell_guest=Case(
                When(buyer__isnull=True, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
        .values(
            "cell_day",
            "cell_hour",
            "sku_id",
            "cell_category",
            "cell_level",
            "cell_guest",
            "payment_method",
        )
        .annotate(
            order_count=Count("id"),
            unit_count=Sum("quantity"),
            gross=Sum("amount"),
            refunded=Sum("refunded_amount"),
            kept_cost=Sum(cost, filter=~Q(status=Order.Status.REFUNDED)),
            buyer_count=Count("buyer_id", distinct=True),
            coupons=Sum(CouponOff()),
        )
        .order_by()
    )


def as_rollup(cell: dict) -> SalesRollup:
    return SalesRollup(
        day=cell["cell_day"],
        hour=cell["cell_hour"],
        sku_id=cell["sku_id"],
        category_id=cell["cell_category"],
        member_level_id=cell["cell_level"],
        guest=cell["cell_guest"],
        payment_method=cell["payment_method"],
        orders=cell["order_count"],
        units=cell["unit_count"] or 0,
        gmv=cell["gross"] or ZERO,
        refunds=cell["refunded"] or ZERO,
        cost=cell["kept_cost"] or ZERO,
        buyers=cell["buyer_count"],
        coupon_cost=cell["coupons"] or ZERO,
    )


# ---------------------------------------------------------------- buyer days


def shop_day(column: str):
    return TruncDate(column, tzinfo=timezone.get_default_timezone())


def buyer_day_cells(
    *, since: date, until: date, users: list[int] | None = None
) -> dict[tuple[date, int], BuyerDay]:
    """Every signed-in user's day from `since` to `until` (`users`: only
    theirs), merged from the orders paid and placed on it and the tracking
    events (raw, and the daily counts they are rolled into after their
    retention)."""
    start, end = day_start(since), day_start(until + timedelta(days=1))
    days: dict[tuple[date, int], BuyerDay] = {}
    mine = Q() if users is None else Q(buyer_id__in=users)
    theirs = Q() if users is None else Q(user_id__in=users)

    def cell(day, user_id) -> BuyerDay:
        key = (day, user_id)
        if key not in days:
            days[key] = BuyerDay(day=day, user_id=user_id)
        return days[key]

    paid = (
        paid_between(since=since, until=until)
        .filter(mine, buyer__isnull=False)
        .annotate(cell_day=shop_day("paid_at"))
        .values("cell_day", "buyer_id", "buyer__member_level_id")
        .annotate(
            n=Count("id"),
            gross=Sum("amount"),
            refunded=Sum("refunded_amount"),
            first=Min("paid_at"),
        )
        .order_by()
    )
    for row in paid:
        found = cell(row["cell_day"], row["buyer_id"])
        found.member_level_id = row["buyer__member_level_id"]
        found.orders = row["n"]
        found.gmv = (row["gross"] or ZERO).quantize(Decimal("0.01"))
        found.refunds = (row["refunded"] or ZERO).quantize(Decimal("0.01"))
        found.first_paid_at = row["first"]
    # The second distinct payment time of a buyer's day (strictly later than
    # the first, as the cohorts' "second paid order" is).
    seconds = (
        paid_between(since=since, until=until)
        .filter(mine, buyer__isnull=False)
        .annotate(
            cell_day=shop_day("paid_at"),
            rank=Window(
                DenseRank(),
                partition_by=[F("buyer_id"), shop_day("paid_at")],
                order_by=F("paid_at").asc(),
            ),
        )
        .filter(rank=2)
        .values_list("cell_day", "buyer_id", "paid_at")
        .order_by()
    )
    for day, buyer_id, paid_at in seconds:
        cell(day, buyer_id).second_paid_at = paid_at
    placed = (
        Order.objects.filter(created_at__gte=start, created_at__lt=end)
        .filter(mine, buyer__isnull=False)
        .annotate(cell_day=shop_day("created_at"))
        .values("cell_day", "buyer_id")
        .annotate(n=Count("id"), n_paid=Count("id", filter=Q(paid_at__isnull=False)))
        .order_by()
    )
    for row in placed:
        found = cell(row["cell_day"], row["buyer_id"])
        found.placed = row["n"]
        found.placed_paid = row["n_paid"]
    events = (
        (
            LoginEvent.objects.filter(success=True, area="shop", user__isnull=False),
            False,
        ),
        (ShopSearch.objects.filter(user__isnull=False), False),
        (ProductView.objects.all(), True),
    )
    for queryset, is_view in events:
        rows = (
            queryset.filter(theirs, created_at__gte=start, created_at__lt=end)
            .annotate(cell_day=shop_day("created_at"))
            .values("cell_day", "user_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in rows:
            found = cell(row["cell_day"], row["user_id"])
            found.visits += row["n"]
            if is_view:
                found.views += row["n"]
    counted = (
        BehaviourDay.objects.filter(
            theirs,
            day__gte=since,
            day__lte=until,
            user__isnull=False,
            kind__in=(
                BehaviourDay.Kind.LOGIN,
                BehaviourDay.Kind.SEARCH,
                BehaviourDay.Kind.VIEW,
            ),
        )
        .values("day", "user_id", "kind")
        .annotate(n=Sum("count"))
        .order_by()
    )
    for row in counted:
        found = cell(row["day"], row["user_id"])
        found.visits += row["n"] or 0
        if row["kind"] == BehaviourDay.Kind.VIEW:
            found.views += row["n"] or 0
    return days


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def insert_buyer_days_sql(
    *, since: date, until: date, users: list[int] | None = None
) -> tuple[str, list]:
    """PostgreSQL: the same buyer days as `buyer_day_cells`, written by the
    database in one INSERT … SELECT (a UNION ALL of the grouped sources, summed
    per day and user); the second payment is the day's second distinct
    payment time. `users`: only theirs."""
    start, end = day_start(since), day_start(until + timedelta(days=1))
    zone = str(timezone.get_default_timezone())
    order, user = table(Order), table(User)
    o = {
        name: column(Order, name)
        for name in (
            "buyer",
            "paid_at",
            "created_at",
            "amount",
            "refunded_amount",
        )
    }

    def day_of(column_sql: str) -> str:
        return f"({column_sql} AT TIME ZONE %s)::date"

    def only(column_sql: str) -> str:
        return "" if users is None else f" AND {column_sql} = ANY(%s)"

    extra = [] if users is None else [list(users)]
    params: list = []
    parts = []
    # Orders paid on the days: what each buyer bought, first and second payment.
    parts.append(
        f"SELECT {day_of('o.' + o['paid_at'])}, o.{o['buyer']}, "
        f"u.{column(User, 'member_level')}, 0, 0, 0, 0, COUNT(*), "
        f"SUM(o.{o['amount']}), SUM(o.{o['refunded_amount']}), "
        f"MIN(o.{o['paid_at']}), "
        f"(ARRAY_AGG(DISTINCT o.{o['paid_at']} ORDER BY o.{o['paid_at']}))[2] "
        f"FROM {order} o JOIN {user} u ON u.{column(User, 'id')} = o.{o['buyer']} "
        f"WHERE o.{o['paid_at']} >= %s AND o.{o['paid_at']} < %s"
        f"{only('o.' + o['buyer'])} GROUP BY 1, 2, 3"
    )
    params += [zone, start, end, *extra]
    # Orders placed on the days (paid since or not).
    parts.append(
        f"SELECT {day_of(o['created_at'])}, {o['buyer']}, NULL, 0, 0, COUNT(*), "
        f"COUNT({o['paid_at']}), 0, 0, 0, NULL, NULL FROM {order} "
        f"WHERE {o['created_at']} >= %s AND {o['created_at']} < %s "
        f"AND {o['buyer']} IS NOT NULL{only(o['buyer'])} GROUP BY 1, 2"
    )
    params += [zone, start, end, *extra]
    events = (
        (LoginEvent, "AND success AND area = 'shop' AND user_id IS NOT NULL", 0),
        (ShopSearch, "AND user_id IS NOT NULL", 0),
        (ProductView, "", 1),
    )
    for model, condition, views in events:
        created = column(model, "created_at")
        parts.append(
            f"SELECT {day_of(created)}, {column(model, 'user')}, NULL, COUNT(*), "
            f"COUNT(*) * {views}, 0, 0, 0, 0, 0, NULL, NULL FROM {table(model)} "
            f"WHERE {created} >= %s AND {created} < %s {condition}"
            f"{only(column(model, 'user'))} GROUP BY 1, 2"
        )
        params += [zone, start, end, *extra]
    kind = column(BehaviourDay, "kind")
    count = column(BehaviourDay, "count")
    parts.append(
        f"SELECT {column(BehaviourDay, 'day')}, {column(BehaviourDay, 'user')}, "
        f"NULL, SUM({count}), COALESCE(SUM({count}) FILTER (WHERE {kind} = %s), 0), "
        f"0, 0, 0, 0, 0, NULL, NULL FROM {table(BehaviourDay)} "
        f"WHERE {column(BehaviourDay, 'day')} BETWEEN %s AND %s "
        f"AND {column(BehaviourDay, 'user')} IS NOT NULL AND {kind} IN (%s, %s, %s)"
        f"{only(column(BehaviourDay, 'user'))} GROUP BY 1, 2"
    )
    params += [
        BehaviourDay.Kind.VIEW,
        since,
        until,
        BehaviourDay.Kind.LOGIN,
        BehaviourDay.Kind.SEARCH,
        BehaviourDay.Kind.VIEW,
        *extra,
    ]
    names = (
        "day",
        "user_id",
        "member_level_id",
        "visits",
        "views",
        "placed",
        "placed_paid",
        "orders",
        "gmv",
        "refunds",
        "first_paid_at",
        "second_paid_at",
    )
    target = ", ".join(column(BuyerDay, name) for name in names)
    union = " UNION ALL ".join(parts)
    sql = (
        f"INSERT INTO {table(BuyerDay)} ({target}) "
        "SELECT day, user_id, MAX(member_level_id), SUM(visits), SUM(views), "
        "SUM(placed), SUM(placed_paid), SUM(orders), SUM(gmv), SUM(refunds), "
        "MIN(first_paid_at), MIN(second_paid_at) "
        f"FROM ({union}) AS source (day, user_id, member_level_id, visits, views, "
        "placed, placed_paid, orders, gmv, refunds, first_paid_at, second_paid_at) "
        "GROUP BY day, user_id"
    )
    return sql, params


def rebuild_buyer_days(*, since: date, until: date) -> int:
    """Replace the buyer days `since` … `until` (in the caller's transaction),
    a few days at a time; returns the rows written. PostgreSQL writes them in
    one statement per chunk; elsewhere they are merged in Python."""
    written = 0
    first = since
    while first <= until:
        last = min(first + timedelta(days=BUYER_DAY_CHUNK - 1), until)
        BuyerDay.objects.filter(day__gte=first, day__lte=last).delete()
        if connection.vendor == "postgresql":
            sql, params = insert_buyer_days_sql(since=first, until=last)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                written += cursor.rowcount
        else:
            rows = list(buyer_day_cells(since=first, until=last).values())
            BuyerDay.objects.bulk_create(rows, batch_size=BATCH)
            written += len(rows)
        first = last + timedelta(days=1)
    return written


def rebuild_buyer_pairs(pairs: dict[date, set[int]]) -> int:
    """Replace the buyer days of these users on these days only (the
    incremental refresh: a user's day depends on nothing but their own orders
    and events), set their bits in the day's bitmaps again and OR the blocks
    holding those days again; returns the buyer-day rows written."""
    written = 0
    for day, found in sorted(pairs.items()):
        users = sorted(found)
        if not users:
            continue
        BuyerDay.objects.filter(day=day, user_id__in=users).delete()
        if connection.vendor == "postgresql":
            sql, params = insert_buyer_days_sql(since=day, until=day, users=users)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                written += cursor.rowcount
        else:
            rows = list(buyer_day_cells(since=day, until=day, users=users).values())
            BuyerDay.objects.bulk_create(rows, batch_size=BATCH)
            written += len(rows)
        update_day_bitmaps(day, users)
    refresh_blocks(day for day, users in pairs.items() if users)
    return written


# ---------------------------------------------------------------- rebuilds


SLICE_MEASURES = ("orders", "units", "gmv", "refunds", "cost", "coupon_cost")
SLICES = ((SalesDay, "sku_id"), (SalesHour, "hour"))


def rebuild_slices(*, since: date, until: date) -> None:
    """The daily sales by SKU and the hourly sales by category of these days,
    summed from their rollups."""
    for model, dimension in SLICES:
        model.objects.filter(day__gte=since, day__lte=until).delete()
        cells = (
            SalesRollup.objects.filter(day__gte=since, day__lte=until)
            .values("day", dimension, "category_id", "member_level_id", "guest")
            .annotate(**{f"sum_{name}": Sum(name) for name in SLICE_MEASURES})
            .order_by()
        )
        model.objects.bulk_create(
            (
                model(
                    day=cell["day"],
                    category_id=cell["category_id"],
                    member_level_id=cell["member_level_id"],
                    guest=cell["guest"],
                    **{dimension: cell[dimension]},
                    **{name: cell[f"sum_{name}"] for name in SLICE_MEASURES},
                )
                for cell in cells.iterator(chunk_size=BATCH)
            ),
            batch_size=BATCH,
        )


def rebuild_sales(*, since: date, until: date) -> int:
    """The sales rollups of these days, and the slices made from them; returns
    the rollup rows written."""
    SalesRollup.objects.filter(day__gte=since, day__lte=until).delete()
    written = 0
    batch: list[SalesRollup] = []
    for cell in rollup_cells(since=since, until=until).iterator(chunk_size=BATCH):
        batch.append(as_rollup(cell))
        if len(batch) == BATCH:
            SalesRollup.objects.bulk_create(batch)
            written += len(batch)
            batch = []
    SalesRollup.objects.bulk_create(batch)
    rebuild_slices(since=since, until=until)
    return written + len(batch)


@transaction.atomic
def rebuild_rollups(*, since: date, until: date | None = None) -> int:
    """Rebuild the days `since` … `until` (shop days, today by default) in one
    transaction: sales rollups, buyer days, and the buyer bitmaps made from
    them; returns the sales rollup and buyer-day rows written."""
    until = until or timezone.localdate(timezone=timezone.get_default_timezone())
    if connection.vendor == "postgresql":  # the GROUP BYs sort in memory
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
    written = rebuild_sales(since=since, until=until) + rebuild_buyer_days(
        since=since, until=until
    )
    rebuild_bitmaps(since=since, until=until)
    return written


def day_runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Runs of consecutive days, as (first, last)."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] == day - timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def rebuild_days(days) -> int:
    """Rebuild the sales rollups of these days (any order), runs of
    consecutive days at once."""
    return sum(rebuild_sales(since=first, until=last) for first, last in day_runs(days))


def tracked_pairs(*, since: datetime) -> Iterable[tuple[date, int]]:
    """(shop day, user) of the tracking events recorded from `since` on."""
    events = (
        LoginEvent.objects.filter(success=True, area="shop", user__isnull=False),
        ShopSearch.objects.filter(user__isnull=False),
        ProductView.objects.all(),
    )
    for queryset in events:
        yield from (
            queryset.filter(created_at__gte=since)
            .annotate(cell_day=shop_day("created_at"))
            .values_list("cell_day", "user_id")
            .distinct()
            .order_by()
        )


def refresh_rollups(*, now: datetime | None = None) -> list[date]:
    """Rebuild the sales of the days of paid orders changed since the last
    refresh, and the buyer days (and bitmaps) of the users of those orders on
    their paid and placed days and of the tracking events since; returns the
    sales days rebuilt. Runs one at a time (the state row is locked)."""
    now = now or timezone.now()
    with transaction.atomic():
        state, _created = RollupState.objects.select_for_update().get_or_create(
            name=STATE, defaults={"orders_changed_until": BEGINNING}
        )
        changed_since = state.orders_changed_until - OVERLAP
        changed = (
            Order.objects.filter(updated_at__gte=changed_since)
            .annotate(paid_day=shop_day("paid_at"), placed_day=shop_day("created_at"))
            .values_list("paid_day", "placed_day", "buyer_id")
            .distinct()
            .order_by()
        )
        days: set[date] = set()
        pairs: dict[date, set[int]] = defaultdict(set)
        for paid_day, placed_day, buyer_id in changed:
            if paid_day is not None:
                days.add(paid_day)
            if buyer_id is not None:
                pairs[placed_day].add(buyer_id)
                if paid_day is not None:
                    pairs[paid_day].add(buyer_id)
        for day, user_id in tracked_pairs(since=changed_since):
            pairs[day].add(user_id)
        rebuild_days(days)
        rebuild_buyer_pairs(pairs)
        state.orders_changed_until = now
        state.save(update_fields=["orders_changed_until"])
    return sorted(days)


def close_rollups(*, today: date | None = None) -> int:
    """Nightly: rebuild the last CLOSE_DAYS days whatever changed."""
    today = today or timezone.localdate(timezone=timezone.get_default_timezone())
    return rebuild_rollups(since=today - timedelta(days=CLOSE_DAYS), until=today)


def mark_rollups_current(*, now: datetime | None = None) -> None:
    """After a full rebuild: the refresh need not read older changes again."""
    RollupState.objects.update_or_create(
        name=STATE, defaults={"orders_changed_until": now or timezone.now()}
    )
