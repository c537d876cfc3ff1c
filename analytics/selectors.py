"""Reads behind the insight pages: who buys what, when, and how levels grow.

Each selector answers for a period of whole Asia/Shanghai days (`since` to
`until`, both included) in a fixed number of grouped queries, whatever the number
of orders, and returns plain figures a page draws and a report can reuse.

A sale is an order that was paid (`paid_at` set), counted on its payment time.
On the insight pages GMV is what buyers paid less what was refunded to them
(the KPIs keep GMV and refunds apart, as the dashboard shows them). Categories are the
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
from marketing.models import Segment, SegmentMember
from orders.models import Order
from users.models import LevelChange, MemberLevel, User

ZERO = Decimal("0.00")
HOURS = range(24)
GUEST = -1  # the level key of orders placed without an account
NO_LEVEL = 0  # the level key of buyers without a member level (ids start at 1)

MONEY = DecimalField(max_digits=18, decimal_places=2)
NET_AMOUNT = ExpressionWrapper(F("amount") - F("refunded_amount"), output_field=MONEY)
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


def cents(amount: Decimal | None) -> Decimal:
    """A summed amount to the cent (SQLite's SUM of decimals is not exact)."""
    return (amount or ZERO).quantize(Decimal("0.01"))


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
            category=root_category(),
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


# ---------------------------------------------------------------- who buys what


@dataclass
class CategoryMix:
    """What each group of buyers (member levels and guests, or segments) bought,
    per top-level category."""

    groups: list[tuple[int, str]]  # group key → name, in the page's order
    categories: list[tuple[int, str]]  # by GMV, largest first
    cells: dict[tuple[int, int], Figures]  # (group key, category id) → figures
    with_cost: bool = False
    group_gmv: dict[int, Decimal] = field(default_factory=dict)

    def rows(self) -> list[dict]:
        """One row per group × category that sold, each with its share of the
        group's GMV, groups in order and categories by GMV."""
        result = []
        for group, group_name in self.groups:
            total = self.group_gmv.get(group, ZERO)
            for category, category_name in self.categories:
                figures = self.cells.get((group, category))
                if figures is None:
                    continue
                share = (figures.gmv / total * 100) if total else ZERO
                result.append(
                    {
                        "group": group_name,
                        "category": category_name,
                        "figures": figures,
                        "share": share.quantize(Decimal("0.1")),
                    }
                )
        return result

    def gmv_series(self) -> dict[str, list[Decimal]]:
        """Category name → GMV per group, for a stacked bar chart."""
        return {
            name: [
                self.cells[group, category].gmv
                if (group, category) in self.cells
                else ZERO
                for group, _group_name in self.groups
            ]
            for category, name in self.categories
        }


def sale_aggregates(*, through: str = "", with_cost: bool) -> dict:
    """Orders, units, buyers, GMV (and the estimated cost) of the sales reached
    through `through` ("" from orders, "user__orders__" from a buyer's row)."""
    net = ExpressionWrapper(
        F(through + "amount") - F(through + "refunded_amount"), output_field=MONEY
    )
    aggregates = {
        "order_count": Count(through + "id"),
        "unit_count": Sum(through + "quantity"),
        "buyer_count": Count(through + "buyer_id", distinct=True),
        "net": Sum(net),
    }
    if with_cost:
        cost = ExpressionWrapper(
            F(through + "sku__cost_price") * F(through + "quantity"),
            output_field=MONEY,
        )
        aggregates["cost"] = Sum(
            cost, filter=~Q(**{through + "status": Order.Status.REFUNDED})
        )
    return aggregates


def root_category(through: str = ""):
    return Coalesce(
        F(through + "sku__product__category__parent_id"),
        F(through + "sku__product__category_id"),
    )


def build_mix(rows, *, groups: list[tuple[int, str]], with_cost: bool) -> CategoryMix:
    cells: dict[tuple[int, int], Figures] = {}
    category_gmv: dict[int, Decimal] = defaultdict(lambda: ZERO)
    group_gmv: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        net = row["net"] or ZERO
        cells[row["group"], row["category"]] = Figures(
            orders=row["order_count"],
            units=row["unit_count"] or 0,
            buyers=row["buyer_count"],
            gmv=net,
            profit=net - (row["cost"] or ZERO) if with_cost else None,
        )
        category_gmv[row["category"]] += net
        group_gmv[row["group"]] += net
    names = category_names(category_gmv)
    categories = sorted(
        category_gmv, key=lambda pk: (-category_gmv[pk], names.get(pk, ""))
    )
    return CategoryMix(
        groups=[(key, name) for key, name in groups if key in group_gmv],
        categories=[(pk, names.get(pk, "—")) for pk in categories],
        cells=cells,
        with_cost=with_cost,
        group_gmv=dict(group_gmv),
    )


def level_names() -> list[tuple[int, str]]:
    levels = [
        (level.pk, level.name) for level in MemberLevel.objects.order_by("rank", "id")
    ]
    return [(NO_LEVEL, _("No level")), *levels, (GUEST, _("Guests"))]


def level_category_mix(
    *, since: date, until: date, with_cost: bool = False
) -> CategoryMix:
    """Member levels as they are today (an order keeps no level of its own)."""
    rows = (
        paid_between(since=since, until=until)
        .annotate(group=LEVEL_KEY, category=root_category())
        .values("group", "category")
        .annotate(**sale_aggregates(with_cost=with_cost))
        .order_by()
    )
    return build_mix(rows, groups=level_names(), with_cost=with_cost)


def segment_category_mix(
    *, since: date, until: date, with_cost: bool = False
) -> CategoryMix:
    """Segments as of their last refresh (marketing.SegmentMember); a buyer in
    two segments counts in both."""
    rows = (
        SegmentMember.objects.filter(
            user__orders__paid_at__gte=day_start(since),
            user__orders__paid_at__lt=day_start(until + timedelta(days=1)),
        )
        .annotate(group=F("segment_id"), category=root_category("user__orders__"))
        .values("group", "category")
        .annotate(**sale_aggregates(through="user__orders__", with_cost=with_cost))
        .order_by()
    )
    groups = list(Segment.objects.order_by("id").values_list("pk", "name"))
    return build_mix(rows, groups=groups, with_cost=with_cost)


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


# ---------------------------------------------------------------- KPIs


@dataclass(frozen=True)
class Kpis:
    """A period's headline figures: GMV is what buyers paid, refunds what went
    back, gross profit (only when cost was asked) GMV less refunds less the
    estimated cost of orders kept."""

    since: date
    until: date
    gmv: Decimal
    orders: int
    units: int
    buyers: int
    refunds: Decimal
    gross_profit: Decimal | None = None

    @property
    def average_order_value(self) -> Decimal:
        if not self.orders:
            return ZERO
        return (self.gmv / self.orders).quantize(Decimal("0.01"))

    def as_dict(self) -> dict:
        """Plain JSON: money as strings with two decimals, dates as ISO days."""
        figures = {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "gmv": str(self.gmv),
            "orders": self.orders,
            "units": self.units,
            "buyers": self.buyers,
            "average_order_value": str(self.average_order_value),
            "refund_amount": str(self.refunds),
        }
        if self.gross_profit is not None:
            figures["gross_profit"] = str(self.gross_profit)
        return figures
