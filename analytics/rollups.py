"""Sales rollups: paid orders counted per shop hour × SKU × member level ×
payment method (analytics.SalesRollup), so dashboards and reports read
thousands of rows instead of millions of orders.

A day is always rebuilt whole (delete its rows, insert the database's GROUP BY
of its orders), so a rollup equals a direct query over orders whenever it was
last rebuilt. `refresh_rollups` (beat, every two minutes) rebuilds the days of
orders changed since the last run, with an overlap for transactions that
committed late; `close_rollups` (nightly) rebuilds the last days again, for
changes that bypassed `updated_at`; `manage.py rebuild_rollups --since DATE`
rebuilds a range.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import ExtractHour, TruncDate
from django.utils import timezone

from analytics.models import RollupState, SalesRollup
from analytics.selectors import MONEY, ZERO, paid_between, root_category
from orders.models import Order

STATE = "sales"
BATCH = 2000
# Orders saved this long before the last run are read again: a transaction that
# stamped updated_at before the run and committed after it is not missed.
OVERLAP = timedelta(minutes=5)
CLOSE_DAYS = 2  # days the nightly close rebuilds (yesterday and the day before)
BEGINNING = datetime(2000, 1, 1, tzinfo=timezone.get_fixed_timezone(0))


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
    )


@transaction.atomic
def rebuild_rollups(*, since: date, until: date | None = None) -> int:
    """Rebuild the days `since` … `until` (shop days, today by default) in one
    transaction; returns the number of rollup rows written."""
    until = until or timezone.localdate(timezone=timezone.get_default_timezone())
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
    return written + len(batch)


def rebuild_days(days) -> int:
    """Rebuild each of these days (any order), runs of consecutive days at once."""
    written = 0
    days = sorted(set(days))
    while days:
        first = last = days.pop(0)
        while days and days[0] == last + timedelta(days=1):
            last = days.pop(0)
        written += rebuild_rollups(since=first, until=last)
    return written


def refresh_rollups(*, now: datetime | None = None) -> list[date]:
    """Rebuild the days of paid orders changed since the last refresh; returns
    them. Runs one at a time (the state row is locked)."""
    now = now or timezone.now()
    with transaction.atomic():
        state, _created = RollupState.objects.select_for_update().get_or_create(
            name=STATE, defaults={"orders_changed_until": BEGINNING}
        )
        changed_since = state.orders_changed_until - OVERLAP
        days = list(
            Order.objects.filter(updated_at__gte=changed_since, paid_at__isnull=False)
            .annotate(
                cell_day=TruncDate("paid_at", tzinfo=timezone.get_default_timezone())
            )
            .values_list("cell_day", flat=True)
            .distinct()
            .order_by()
        )
        rebuild_days(days)
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
