"""Reads behind the insight pages: who buys what, when, and how levels grow.

Each selector answers for a period of whole Asia/Shanghai days (`since` to
`until`, both included) in a fixed number of grouped queries, whatever the number
of orders, and returns plain figures a page draws and a report can reuse.

A sale is an order that was paid (`paid_at` set), counted on its payment time.
GMV is what buyers paid less what was refunded to them. Categories are the
shop's top-level ones (a product's category, or that category's parent), so
"话费充值" gathers 中国移动 and 中国联通. Cost is read only when asked for
(`with_cost`), and it is an estimate: today's SKU cost price × units, over
orders not refunded in full (an order keeps no cost of its own).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractHour, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Category
from orders.models import Order
from users.models import LevelChange, MemberLevel, User

ZERO = Decimal("0.00")
HOURS = range(24)
GUEST = -1  # the level key of orders placed without an account
NO_LEVEL = 0  # the level key of buyers without a member level (ids start at 1)

MONEY = DecimalField(max_digits=18, decimal_places=2)
ROOT_CATEGORY = Coalesce(
    F("sku__product__category__parent_id"), F("sku__product__category_id")
)
NET_AMOUNT = ExpressionWrapper(F("amount") - F("refunded_amount"), output_field=MONEY)
ESTIMATED_COST = ExpressionWrapper(
    F("sku__cost_price") * F("quantity"), output_field=MONEY
)
LEVEL_KEY = Case(
    When(buyer__isnull=True, then=Value(GUEST)),
    When(buyer__member_level__isnull=True, then=Value(NO_LEVEL)),
    default=F("buyer__member_level_id"),
    output_field=IntegerField(),
)


def day_start(day: date) -> datetime:
    """Midnight that begins `day` in the shop's time zone (Asia/Shanghai)."""
    return timezone.make_aware(
        datetime.combine(day, time.min), timezone.get_default_timezone()
    )


def paid_between(*, since: date, until: date) -> QuerySet[Order]:
    """Orders paid on the days `since` … `until` (shop time)."""
    return Order.objects.filter(
        paid_at__gte=day_start(since), paid_at__lt=day_start(until + timedelta(days=1))
    )


def category_names(ids) -> dict[int, str]:
    return dict(Category.objects.filter(pk__in=set(ids)).values_list("pk", "name"))


@dataclass(frozen=True)
class Figures:
    """What one cell of a breakdown sold. `profit` is None unless cost was asked."""

    orders: int = 0
    units: int = 0
    buyers: int = 0
    gmv: Decimal = ZERO
    profit: Decimal | None = None


# ---------------------------------------------------------------- hour × category


MEASURES = ("orders", "units", "gmv")


@dataclass
class HourDemand:
    """Demand by hour of day (0–23, shop time) × top-level category."""

    categories: list[tuple[int, str]]  # busiest first
    cells: dict[tuple[int, int], Figures]  # (hour, category id) → figures

    def value(self, hour: int, category_id: int, measure: str = "orders"):
        return getattr(self.cells.get((hour, category_id), Figures()), measure)

    def by_hour(self, category_id: int, measure: str = "orders") -> list:
        return [self.value(hour, category_id, measure) for hour in HOURS]

    def peak_hour(self, category_id: int, measure: str = "orders") -> int | None:
        """The busiest hour of a category (the earliest of equals), None if idle."""
        values = self.by_hour(category_id, measure)
        top = max(values)
        return values.index(top) if top else None


def hour_category_demand(*, since: date, until: date) -> HourDemand:
    rows = (
        paid_between(since=since, until=until)
        .annotate(
            hour=ExtractHour("paid_at", tzinfo=timezone.get_default_timezone()),
            category=ROOT_CATEGORY,
        )
        .values("hour", "category")
        .annotate(
            order_count=Count("id"),
            unit_count=Sum("quantity"),
            buyer_count=Count("buyer_id", distinct=True),
            net=Sum(NET_AMOUNT),
        )
        .order_by()
    )
    cells: dict[tuple[int, int], Figures] = {}
    totals: dict[int, int] = defaultdict(int)
    for row in rows:
        cells[row["hour"], row["category"]] = Figures(
            orders=row["order_count"],
            units=row["unit_count"] or 0,
            buyers=row["buyer_count"],
            gmv=row["net"] or ZERO,
        )
        totals[row["category"]] += row["order_count"]
    names = category_names(totals)
    order = sorted(totals, key=lambda pk: (-totals[pk], names.get(pk, "")))
    return HourDemand(
        categories=[(pk, names.get(pk, "—")) for pk in order], cells=cells
    )


# ---------------------------------------------------------------- level × category


@dataclass
class LevelCategoryMix:
    """What each member level (and guests) bought, per top-level category."""

    levels: list[tuple[int, str]]  # level key → name, by rank; guests last
    categories: list[tuple[int, str]]  # by GMV, largest first
    cells: dict[tuple[int, int], Figures]  # (level key, category id) → figures
    with_cost: bool = False
    level_totals: dict[int, Figures] = field(default_factory=dict)

    def rows(self) -> list[dict]:
        """One row per level × category that sold, each with its share of the
        level's GMV, levels in rank order and categories by GMV."""
        result = []
        for level, level_name in self.levels:
            total = self.level_totals.get(level, Figures()).gmv
            for category, category_name in self.categories:
                figures = self.cells.get((level, category))
                if figures is None:
                    continue
                share = (figures.gmv / total * 100) if total else ZERO
                result.append(
                    {
                        "level": level_name,
                        "category": category_name,
                        "figures": figures,
                        "share": share.quantize(Decimal("0.1")),
                    }
                )
        return result


def level_names() -> list[tuple[int, str]]:
    levels = [
        (level.pk, level.name) for level in MemberLevel.objects.order_by("rank", "id")
    ]
    return [(NO_LEVEL, _("No level")), *levels, (GUEST, _("Guests"))]


def level_category_mix(
    *, since: date, until: date, with_cost: bool = False
) -> LevelCategoryMix:
    aggregates = {
        "order_count": Count("id"),
        "unit_count": Sum("quantity"),
        "buyer_count": Count("buyer_id", distinct=True),
        "net": Sum(NET_AMOUNT),
    }
    if with_cost:
        aggregates["cost"] = Sum(
            ESTIMATED_COST, filter=~Q(status=Order.Status.REFUNDED)
        )
    rows = (
        paid_between(since=since, until=until)
        .annotate(level=LEVEL_KEY, category=ROOT_CATEGORY)
        .values("level", "category")
        .annotate(**aggregates)
        .order_by()
    )
    cells: dict[tuple[int, int], Figures] = {}
    category_gmv: dict[int, Decimal] = defaultdict(lambda: ZERO)
    level_sums: dict[int, list] = defaultdict(lambda: [0, 0, 0, ZERO, ZERO])
    for row in rows:
        net = row["net"] or ZERO
        profit = net - (row["cost"] or ZERO) if with_cost else None
        figures = Figures(
            orders=row["order_count"],
            units=row["unit_count"] or 0,
            buyers=row["buyer_count"],
            gmv=net,
            profit=profit,
        )
        cells[row["level"], row["category"]] = figures
        category_gmv[row["category"]] += net
        sums = level_sums[row["level"]]
        sums[0] += figures.orders
        sums[1] += figures.units
        sums[3] += net
        sums[4] += profit or ZERO
    names = category_names(category_gmv)
    categories = sorted(
        category_gmv, key=lambda pk: (-category_gmv[pk], names.get(pk, ""))
    )
    seen = {level for level, _category in cells}
    return LevelCategoryMix(
        levels=[(key, name) for key, name in level_names() if key in seen],
        categories=[(pk, names.get(pk, "—")) for pk in categories],
        cells=cells,
        with_cost=with_cost,
        # Buyers are not summed across categories (one buyer buys several).
        level_totals={
            level: Figures(
                orders=s[0], units=s[1], gmv=s[3], profit=s[4] if with_cost else None
            )
            for level, s in level_sums.items()
        },
    )


# ---------------------------------------------------------------- level growth


@dataclass
class LevelGrowth:
    """Buyers at each member level at the end of every day of the period, with
    the upgrades and downgrades of the period."""

    days: list[date]
    levels: list[tuple[int, str]]
    members: dict[int, list[int]]  # level key → count at the end of each day
    upgrades: int = 0
    downgrades: int = 0

    def change(self, level: int) -> int:
        counts = self.members[level]
        return counts[-1] - counts[0] if counts else 0


def level_growth(*, since: date, until: date) -> LevelGrowth:
    """Counted back from today's members with every LevelChange after each day
    (each change of level is one row, users/levels.py), so the last day of a
    period ending today equals the buyer list."""
    ranks = dict(MemberLevel.objects.values_list("pk", "rank"))
    current = {
        (level or NO_LEVEL): count
        for level, count in User.objects.filter(is_staff=False)
        .values("member_level_id")
        .annotate(count=Count("id"))
        .order_by()
        .values_list("member_level_id", "count")
    }
    changes = (
        LevelChange.objects.filter(created_at__gte=day_start(since))
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_default_timezone()))
        .values("day", "from_level_id", "to_level_id")
        .annotate(count=Count("id"))
        .order_by()
    )
    days = [since + timedelta(days=n) for n in range((until - since).days + 1)]
    # net[level][day]: buyers who arrived at the level that day less those who left
    net: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    upgrades = downgrades = 0
    for row in changes:
        source, target = (
            row["from_level_id"] or NO_LEVEL,
            row["to_level_id"] or NO_LEVEL,
        )
        net[target][row["day"]] += row["count"]
        net[source][row["day"]] -= row["count"]
        if since <= row["day"] <= until:
            up = ranks.get(row["to_level_id"], -1) > ranks.get(row["from_level_id"], -1)
            if up:
                upgrades += row["count"]
            else:
                downgrades += row["count"]
    levels = [pair for pair in level_names() if pair[0] != GUEST]
    members: dict[int, list[int]] = {}
    for level, _name in levels:
        count = current.get(level, 0)
        after = sorted(net[level].items(), reverse=True)  # newest first
        counts = []
        for day in reversed(days):
            while after and after[0][0] > day:
                count -= after.pop(0)[1]
            counts.append(count)
        members[level] = list(reversed(counts))
    return LevelGrowth(
        days=days,
        levels=levels,
        members=members,
        upgrades=upgrades,
        downgrades=downgrades,
    )
