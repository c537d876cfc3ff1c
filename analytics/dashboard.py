"""Reads behind the dashboard (the back-office home), the period comparison, the
retention cohorts and the funnel.

Sales figures come from the rollups (analytics.SalesRollup, kept equal to
orders by analytics.rollups) wherever a rollup holds them: GMV, orders, units,
refunds, cost, coupon cost, by day, hour, SKU, top-level category and member
level. Unique buyers (they do not add up across hours) and the funnel come
from the buyer bitmaps (analytics.bitmaps: the users of each kind per day and
per block of days, ORed over the period), the signup cohorts from the buyer
days (analytics.BuyerDay: one row per signed-in user and shop day); a segment
filter is read from orders (segments are not a rollup dimension), and so are
the unique buyers of a drill-down the bitmaps do not carry (category, product,
SKU, hour). `Sales(..., raw=True)`,
`period_figures(raw=True)`, `funnel(raw=True)` and `cohorts(raw=True)` answer
from orders and tracking events, for the tests that hold the rollups to them
and for `bench dashboard`.

Periods are whole Asia/Shanghai days, both ends included; the previous period is
the same number of days just before. A drill-down (`Scope`) narrows everything:
a top-level category, a product, a SKU, a member level (or guests), a segment,
a weekday and an hour.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

from django.db.models import (
    Case,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.bitmaps import ALL, FUNNEL_KINDS, Kind, level_key, pieces, users_of
from analytics.models import BuyerDay, SalesDay, SalesHour, SalesRollup
from analytics.rollups import CouponOff
from analytics.selectors import (
    GUEST,
    LEVEL_KEY,
    MONEY,
    NO_LEVEL,
    ZERO,
    Kpis,
    cents,
    day_start,
    level_names,
    paid_between,
    root_category,
)
from catalog.models import Category, Product, Sku, SupplierCall
from marketing.models import Segment, SegmentMember
from orders.models import Order, Ticket
from users.models import BehaviourDay, LoginEvent, ProductView, ShopSearch, User

SHOP_TIME = timezone.get_default_timezone
OPEN_TICKETS = (
    Ticket.Status.OPEN,
    Ticket.Status.IN_PROGRESS,
    Ticket.Status.PENDING,
)
TOP_SKUS = 10
COHORT_WEEKS = 8
RETENTION_DAYS = (1, 7, 30)
WEEKDAYS = (
    _("Mon"),
    _("Tue"),
    _("Wed"),
    _("Thu"),
    _("Fri"),
    _("Sat"),
    _("Sun"),
)


def today() -> date:
    return timezone.localdate(timezone=SHOP_TIME())


# ---------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    since: date
    until: date

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def previous(self) -> Period:
        """The same number of days just before."""
        return Period(
            since=self.since - timedelta(days=self.days),
            until=self.since - timedelta(days=1),
        )

    def each_day(self) -> list[date]:
        return [self.since + timedelta(days=n) for n in range(self.days)]


def named_period(name: str, *, on: date | None = None) -> Period:
    """today / 7d / 30d, ending today (shop time)."""
    on = on or today()
    length = {"today": 1, "7d": 7, "30d": 30}[name]
    return Period(since=on - timedelta(days=length - 1), until=on)


# ---------------------------------------------------------------- drill-down


@dataclass(frozen=True)
class Scope:
    """What the dashboard is narrowed to; every field None means everything.
    `level` is a member level id, NO_LEVEL (0) or GUEST (-1); `weekday` is ISO
    (1 Monday … 7 Sunday); `hour` 0–23 in shop time."""

    category: int | None = None
    product: int | None = None
    sku: int | None = None
    level: int | None = None
    segment: int | None = None
    weekday: int | None = None
    hour: int | None = None

    def as_query(self) -> dict[str, int]:
        """The filters as URL parameters (what a shared link carries)."""
        return {
            item.name: getattr(self, item.name)
            for item in fields(self)
            if getattr(self, item.name) is not None
        }

    def without(self, *names: str) -> Scope:
        return replace(self, **dict.fromkeys(names))

    @property
    def is_narrowed(self) -> bool:
        return bool(self.as_query())


def child_sku_ids(category_id: int) -> list[int]:
    return list(
        Sku.objects.filter(product__category_id=category_id).values_list(
            "pk", flat=True
        )
    )


def product_sku_ids(product_id: int) -> list[int]:
    return list(Sku.objects.filter(product_id=product_id).values_list("pk", flat=True))


# ---------------------------------------------------------------- sales source

MEASURES = ("orders", "units", "gmv", "refunds", "cost", "coupon_cost")


class Sales:
    """Grouped sales figures for a period and a scope, from the rollups (or from
    orders when `raw` or when a segment is asked for). `grouped(dims)` returns
    one dict per cell: the dims (any of day, hour, weekday, sku, category, level)
    and the measures orders, units, gmv, refunds, cost, coupon_cost."""

    def __init__(self, *, period: Period, scope: Scope = Scope(), raw: bool = False):
        self.period = period
        self.scope = scope
        self.raw = raw or scope.segment is not None

    @cached_property
    def sub_category(self) -> bool:
        """The scope's category is not a top-level one (kpis --category)."""
        return (
            self.scope.category is not None
            and Category.objects.filter(
                pk=self.scope.category, parent__isnull=False
            ).exists()
        )

    def rollup_model(self, dims: tuple[str, ...]):
        """The smallest rollup that holds the dims and the scope: the daily
        sales by SKU without an hour, the hourly sales by category without a
        SKU, else the rollup cells (hour × SKU)."""
        scope = self.scope
        hourly = "hour" in dims or scope.hour is not None
        by_sku = (
            "sku" in dims
            or scope.sku is not None
            or scope.product is not None
            or self.sub_category
        )
        if hourly and by_sku:
            return SalesRollup
        return SalesHour if hourly else SalesDay

    # Rollups: the smallest table with the cells asked for.
    def rollup_rows(self, dims: tuple[str, ...] = ()):
        rows = (
            self.rollup_model(dims)
            .objects.filter(day__gte=self.period.since, day__lte=self.period.until)
            .annotate(
                level=Case(
                    When(guest=True, then=Value(GUEST)),
                    When(member_level_id__isnull=True, then=Value(NO_LEVEL)),
                    default=F("member_level_id"),
                    output_field=IntegerField(),
                ),
                weekday=ExtractIsoWeekDay("day"),
                category=F("category_id"),
            )
        )
        return self.narrow(rows, sku="sku_id"), {
            "orders": Sum("orders"),
            "units": Sum("units"),
            "gmv": Sum("gmv"),
            "refunds": Sum("refunds"),
            "cost": Sum("cost"),
            "coupon_cost": Sum("coupon_cost"),
        }

    # Orders: the same cells counted directly; only the columns a grouping or
    # a filter needs are computed (each costs a join or an expression per row).
    def order_rows(self, dims: tuple[str, ...] = ()):
        shop_time = SHOP_TIME()
        columns = {
            "day": lambda: TruncDate("paid_at", tzinfo=shop_time),
            "hour": lambda: ExtractHour("paid_at", tzinfo=shop_time),
            "weekday": lambda: ExtractIsoWeekDay("paid_at", tzinfo=shop_time),
            "category": root_category,
            "level": lambda: LEVEL_KEY,
        }
        needed = set(dims) | {
            name for name in columns if getattr(self.scope, name, None) is not None
        }
        rows = paid_between(since=self.period.since, until=self.period.until).annotate(
            **{name: make() for name, make in columns.items() if name in needed}
        )
        if self.scope.segment is not None:
            rows = rows.filter(
                buyer_id__in=SegmentMember.objects.filter(
                    segment_id=self.scope.segment
                ).values("user_id")
            )
        cost = ExpressionWrapper(
            F("sku__cost_price") * F("quantity"), output_field=MONEY
        )
        return self.narrow(rows, sku="sku_id"), {
            "orders": Count("id"),
            "units": Sum("quantity"),
            "gmv": Sum("amount"),
            "refunds": Sum("refunded_amount"),
            "cost": Sum(cost, filter=~Q(status=Order.Status.REFUNDED)),
            "coupon_cost": Sum(CouponOff()),
        }

    def narrow(self, rows, *, sku: str):
        scope = self.scope
        if scope.sku is not None:
            rows = rows.filter(**{sku: scope.sku})
        elif scope.product is not None:
            rows = rows.filter(**{sku + "__in": product_sku_ids(scope.product)})
        if scope.category is not None:
            if not self.sub_category:
                rows = rows.filter(category=scope.category)
            else:  # a sub-category (manage.py kpis --category): its SKUs
                rows = rows.filter(**{sku + "__in": child_sku_ids(scope.category)})
        if scope.level is not None:
            rows = rows.filter(level=scope.level)
        if scope.weekday is not None:
            rows = rows.filter(weekday=scope.weekday)
        if scope.hour is not None:
            rows = rows.filter(hour=scope.hour)
        return rows

    def grouped(self, dims: tuple[str, ...] = ()) -> list[dict]:
        rows, measures = self.order_rows(dims) if self.raw else self.rollup_rows(dims)
        columns = [("sku_id" if dim == "sku" else dim) for dim in dims]
        if columns:
            found = rows.values(*columns).annotate(**measures).order_by()
        else:
            found = [rows.aggregate(**measures)]
        result = []
        for row in found:
            cell = {dim: row[column] for dim, column in zip(dims, columns, strict=True)}
            if not columns and not row["orders"]:
                row = {**row, "orders": 0}
            cell.update(
                orders=row["orders"] or 0,
                units=row["units"] or 0,
                gmv=cents(row["gmv"]),
                refunds=cents(row["refunds"]),
                cost=cents(row["cost"]),
                coupon_cost=cents(row["coupon_cost"]),
            )
            result.append(cell)
        return result

    def totals(self) -> dict:
        return self.grouped()[0]

    def buyers(self):
        """Orders of the period and scope, for what a rollup cannot add up."""
        rows, _measures = self.order_rows()
        return rows

    def buyer_count(self) -> int:
        """Distinct signed-in buyers who paid in the period and scope: from
        the buyer bitmaps when they carry the scope (everything, a member
        level, a weekday), else from orders."""
        scope = self.scope
        narrowed = scope.without("level", "weekday").is_narrowed
        if self.raw or narrowed:
            return self.buyers().aggregate(n=Count("buyer_id", distinct=True))["n"]
        if scope.level == GUEST:
            return 0
        if scope.weekday is None:
            blocks = period_blocks(self.period)
        else:
            blocks = [
                (day, 1)
                for day in self.period.each_day()
                if day.isoweekday() == scope.weekday
            ]
        key = ALL if scope.level is None else level_key(scope.level)
        return users_of(blocks, [Kind.BUYER], key=key)[Kind.BUYER].bit_count()


def period_blocks(period: Period) -> list[tuple[date, int]]:
    """The bitmap blocks that make up the period."""
    return pieces(period.since, period.until)


# ---------------------------------------------------------------- behaviour


def shop_window(period: Period) -> tuple:
    return day_start(period.since), day_start(period.until + timedelta(days=1))


def viewer_rows(period: Period):
    """user_id of every product view of the period (raw and rolled up)."""
    start, end = shop_window(period)
    return (
        ProductView.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("user_id")
        .order_by()
        .union(
            BehaviourDay.objects.filter(
                day__gte=period.since,
                day__lte=period.until,
                user__isnull=False,
                kind=BehaviourDay.Kind.VIEW,
            )
            .values("user_id")
            .order_by()
        )
    )


def visitor_rows(period: Period):
    """user_id of signed-in buyers seen in the shop: a login, a search or a
    product view (raw events, and the daily counts they are rolled into)."""
    start, end = shop_window(period)
    return (
        LoginEvent.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            success=True,
            area="shop",
            user__isnull=False,
        )
        .values("user_id")
        .order_by()
        .union(
            ShopSearch.objects.filter(
                created_at__gte=start, created_at__lt=end, user__isnull=False
            )
            .values("user_id")
            .order_by(),
            ProductView.objects.filter(created_at__gte=start, created_at__lt=end)
            .values("user_id")
            .order_by(),
            BehaviourDay.objects.filter(
                day__gte=period.since,
                day__lte=period.until,
                user__isnull=False,
                kind__in=(
                    BehaviourDay.Kind.LOGIN,
                    BehaviourDay.Kind.SEARCH,
                    BehaviourDay.Kind.VIEW,
                ),
            )
            .values("user_id")
            .order_by(),
        )
    )


def viewed_in(period: Period) -> Q:
    """Orders whose buyer viewed a product in the period: one semi-join with
    the union of the viewers (two IN lists ORed were a subplan PostgreSQL
    cannot hash once the views outgrow work_mem, and scanned them again for
    every order: hours at 10,000,000 orders)."""
    return Q(buyer_id__in=viewer_rows(period))


@dataclass(frozen=True)
class Funnel:
    """Signed-in buyers at each step, each step a subset of the one before:
    seen in the shop → viewed a product → placed an order → paid for it (orders
    placed in the period). Guests leave no behaviour trail and are not counted."""

    visitors: int
    viewers: int
    ordered: int
    paid: int

    def steps(self) -> list[dict]:
        names = (
            (_("Visited the shop"), self.visitors),
            (_("Viewed a product"), self.viewers),
            (_("Placed an order"), self.ordered),
            (_("Paid"), self.paid),
        )
        steps = []
        previous = None
        for name, count in names:
            steps.append(
                {
                    "name": name,
                    "count": count,
                    "of_visitors": rate(count, self.visitors),
                    "of_previous": rate(count, previous)
                    if previous is not None
                    else None,
                }
            )
            previous = count
        return steps

    @property
    def conversion(self) -> Decimal | None:
        """Visitors who paid, in percent."""
        return rate(self.paid, self.visitors)


def funnel(period: Period, *, raw: bool = False) -> Funnel:
    """The funnel of a period: one statement over the buyer days (or, `raw`,
    four over the orders and the tracking events)."""
    if raw:
        return funnel_from_events(period)
    return buyers_and_funnel(period)[1]


def buyers_and_funnel(period: Period) -> tuple[int, Funnel]:
    """Unique buyers and the funnel of a period in one statement: the OR of the
    period's buyer bitmaps per kind, counted; a step among the previous one is
    an AND (viewed in the period, and placed an order in it)."""
    users = users_of(period_blocks(period), [Kind.BUYER, *FUNNEL_KINDS])
    viewers = users[Kind.VIEWER]
    return users[Kind.BUYER].bit_count(), Funnel(
        visitors=users[Kind.VISITOR].bit_count(),
        viewers=viewers.bit_count(),
        ordered=(viewers & users[Kind.PLACED]).bit_count(),
        paid=(viewers & users[Kind.PLACED_PAID]).bit_count(),
    )


def funnel_from_events(period: Period) -> Funnel:
    """Counted in the database (four statements), never as id lists."""
    start, end = shop_window(period)
    ordered = Order.objects.filter(
        viewed_in(period), created_at__gte=start, created_at__lt=end
    )
    counts = ordered.aggregate(
        ordered=Count("buyer_id", distinct=True),
        paid=Count("buyer_id", distinct=True, filter=Q(paid_at__isnull=False)),
    )
    return Funnel(
        visitors=visitor_rows(period).count(),
        viewers=viewer_rows(period).count(),
        ordered=counts["ordered"],
        paid=counts["paid"],
    )


def rate(part, whole) -> Decimal | None:
    """part / whole in percent to one decimal, None when whole is zero."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


# ---------------------------------------------------------------- KPIs


@dataclass(frozen=True)
class Metric:
    """One KPI of two periods. `better` says which way is good (+1 up, -1 down)."""

    code: str
    label: str
    value: Decimal | int | None
    previous: Decimal | int | None
    kind: str = "count"  # count, money, percent
    better: int = 1

    @property
    def difference(self):
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def change(self) -> Decimal | None:
        """Relative change in percent (None without a previous value)."""
        if self.value is None or not self.previous:
            return None
        return (
            (Decimal(self.value) - Decimal(self.previous))
            * 100
            / abs(Decimal(self.previous))
        ).quantize(Decimal("0.1"))

    @property
    def trend(self) -> str:
        """good / bad / flat, for the colour of the change."""
        difference = self.difference
        if not difference:
            return "flat"
        return "good" if (difference > 0) == (self.better > 0) else "bad"


@dataclass(frozen=True)
class PeriodFigures:
    """Everything the KPI cards show for one period and scope."""

    period: Period
    gmv: Decimal
    orders: int
    units: int
    refunds: Decimal
    cost: Decimal
    coupon_cost: Decimal
    buyers: int
    funnel: Funnel | None
    supplier_calls: int
    supplier_successes: int
    tickets_opened: int

    @property
    def average_order_value(self) -> Decimal:
        return (
            (self.gmv / self.orders).quantize(Decimal("0.01")) if self.orders else ZERO
        )

    @property
    def refund_rate(self) -> Decimal | None:
        return rate(self.refunds, self.gmv)

    @property
    def gross_profit(self) -> Decimal:
        return self.gmv - self.refunds - self.cost

    @property
    def supplier_success_rate(self) -> Decimal | None:
        return rate(self.supplier_successes, self.supplier_calls)

    @property
    def conversion(self) -> Decimal | None:
        return self.funnel.conversion if self.funnel else None


def period_figures(
    *, period: Period, scope: Scope = Scope(), raw: bool = False, shop: bool = True
) -> PeriodFigures:
    """The KPIs of a period and scope; `shop=False` leaves out what is not about
    sales (funnel, supplier calls, tickets)."""
    sales = Sales(period=period, scope=scope, raw=raw)
    totals = sales.totals()
    shop_funnel = None
    if shop and not scope.is_narrowed and not raw:
        buyers, shop_funnel = buyers_and_funnel(period)
    else:
        buyers = sales.buyer_count()
        if shop and not scope.is_narrowed:
            shop_funnel = funnel_from_events(period)
    start, end = day_start(period.since), day_start(period.until + timedelta(days=1))
    calls = {"total": 0, "ok": 0}
    if shop:
        calls = supplier_calls(start=start, end=end)
    return PeriodFigures(
        period=period,
        gmv=totals["gmv"],
        orders=totals["orders"],
        units=totals["units"],
        refunds=totals["refunds"],
        cost=totals["cost"],
        coupon_cost=totals["coupon_cost"],
        buyers=buyers,
        funnel=shop_funnel,
        supplier_calls=calls["total"],
        supplier_successes=calls["ok"],
        tickets_opened=Ticket.objects.filter(
            created_at__gte=start, created_at__lt=end
        ).count()
        if shop
        else 0,
    )


def supplier_calls(*, start, end) -> dict:
    return SupplierCall.objects.filter(
        created_at__gte=start,
        created_at__lt=end,
        operation=SupplierCall.Operation.SUBMIT,
    ).aggregate(
        total=Count("id"),
        ok=Count(
            "id",
            filter=Q(
                outcome__in=(
                    SupplierCall.Outcome.SUCCESS,
                    SupplierCall.Outcome.PROCESSING,
                )
            ),
        ),
    )


def kpis(*, period: Period, scope: Scope = Scope(), with_cost: bool = False) -> Kpis:
    """The sales KPIs `manage.py kpis` prints: the dashboard's own totals."""
    figures = period_figures(period=period, scope=scope, shop=False)
    return Kpis(
        since=period.since,
        until=period.until,
        gmv=figures.gmv,
        orders=figures.orders,
        units=figures.units,
        buyers=figures.buyers,
        refunds=figures.refunds,
        gross_profit=figures.gross_profit if with_cost else None,
    )


def open_tickets() -> int:
    return Ticket.objects.filter(status__in=OPEN_TICKETS).count()


SALES_METRICS = ("gmv", "orders", "average_order_value", "refund_rate")
# Shown only with catalog.view_cost: gross profit and, beside it, what coupons
# took off (already out of GMV, so not taken off the profit again).
COST_METRICS = ("gross_profit", "coupon_cost")


def compare(
    current: PeriodFigures, previous: PeriodFigures, *, with_cost: bool
) -> list[Metric]:
    """The KPIs of two periods side by side (the dashboard's cards and the
    comparison page). Gross profit and coupon cost only `with_cost`."""
    pairs = [
        ("gmv", _("GMV"), "money", 1),
        ("orders", _("Orders"), "count", 1),
        ("average_order_value", _("Average order value"), "money", 1),
        ("buyers", _("Buyers"), "count", 1),
        ("units", _("Units"), "count", 1),
        ("conversion", _("Conversion"), "percent", 1),
        ("refunds", _("Refund amount"), "money", -1),
        ("refund_rate", _("Refund rate"), "percent", -1),
        ("gross_profit", _("Gross profit"), "money", 1),
        ("coupon_cost", _("Coupon cost"), "money", -1),
        ("supplier_success_rate", _("Supplier success rate"), "percent", 1),
        ("tickets_opened", _("Tickets opened"), "count", -1),
    ]
    return [
        Metric(
            code=code,
            label=label,
            value=getattr(current, code),
            previous=getattr(previous, code),
            kind=kind,
            better=better,
        )
        for code, label, kind, better in pairs
        if with_cost or code not in COST_METRICS
    ]


# ---------------------------------------------------------------- breakdowns


def trend(sales: Sales) -> list[dict]:
    """GMV and orders per day (per hour for a single day), every slot present."""
    if sales.period.days == 1:
        cells = {row["hour"]: row for row in sales.grouped(("hour",))}
        slots = [(hour, f"{hour:02d}:00") for hour in range(24)]
    else:
        cells = {row["day"]: row for row in sales.grouped(("day",))}
        slots = [(day, day.strftime("%m-%d")) for day in sales.period.each_day()]
    return [
        {
            "label": label,
            "gmv": cells[key]["gmv"] if key in cells else ZERO,
            "orders": cells[key]["orders"] if key in cells else 0,
        }
        for key, label in slots
    ]


@dataclass
class MixRow:
    key: int
    name: str
    gmv: Decimal
    orders: int
    drill: dict[str, int] = field(default_factory=dict)  # what a click adds


def mix_level(scope: Scope) -> str:
    """What the mix chart breaks the scope into: category → product → SKU."""
    if scope.sku is not None:
        return "sku"
    if scope.product is not None:
        return "sku"
    if scope.category is not None:
        return "product"
    return "category"


def sales_mix(sales: Sales) -> tuple[str, list[MixRow]]:
    """GMV by the next level down: top-level categories, then a category's
    products, then a product's SKUs (largest first)."""
    level = mix_level(sales.scope)
    if level == "category":
        rows = sales.grouped(("category",))
        names = dict(
            Category.objects.filter(pk__in=[r["category"] for r in rows]).values_list(
                "pk", "name"
            )
        )
        found = [
            MixRow(
                key=r["category"],
                name=names.get(r["category"], "—"),
                gmv=r["gmv"],
                orders=r["orders"],
                drill={"category": r["category"]},
            )
            for r in rows
        ]
    else:
        rows = sales.grouped(("sku",))
        skus = {
            sku.pk: sku
            for sku in Sku.objects.filter(
                pk__in=[r["sku"] for r in rows]
            ).select_related("product")
        }
        if level == "product":
            by_product: dict[int, MixRow] = {}
            for r in rows:
                sku = skus.get(r["sku"])
                if sku is None:
                    continue
                row = by_product.setdefault(
                    sku.product_id,
                    MixRow(
                        key=sku.product_id,
                        name=sku.product.name,
                        gmv=ZERO,
                        orders=0,
                        drill={"product": sku.product_id},
                    ),
                )
                row.gmv += r["gmv"]
                row.orders += r["orders"]
            found = list(by_product.values())
        else:
            found = [
                MixRow(
                    key=r["sku"],
                    name=sku_name(skus.get(r["sku"])),
                    gmv=r["gmv"],
                    orders=r["orders"],
                    drill={"sku": r["sku"]},
                )
                for r in rows
            ]
    found.sort(key=lambda row: (-row.gmv, row.name))
    return level, found


def sku_name(sku: Sku | None) -> str:
    if sku is None:
        return "—"
    return f"{sku.product.name} · {sku.name}"


def top_skus(sales: Sales, *, limit: int = TOP_SKUS) -> list[MixRow]:
    rows = sorted(sales.grouped(("sku",)), key=lambda r: (-r["gmv"], r["sku"]))[:limit]
    skus = {
        sku.pk: sku
        for sku in Sku.objects.filter(pk__in=[r["sku"] for r in rows]).select_related(
            "product"
        )
    }
    return [
        MixRow(
            key=r["sku"],
            name=sku_name(skus.get(r["sku"])),
            gmv=r["gmv"],
            orders=r["orders"],
            drill={"sku": r["sku"]},
        )
        for r in rows
    ]


def level_mix(sales: Sales) -> list[MixRow]:
    """GMV by member level (as counted: a buyer's level when the day was rolled
    up), guests last."""
    rows = {r["level"]: r for r in sales.grouped(("level",))}
    return [
        MixRow(
            key=key,
            name=str(name),
            gmv=rows[key]["gmv"],
            orders=rows[key]["orders"],
            drill={"level": key},
        )
        for key, name in level_names()
        if key in rows
    ]


def weekday_hours(sales: Sales) -> dict[tuple[int, int], int]:
    """(hour, ISO weekday) → orders."""
    return {
        (r["hour"], r["weekday"]): r["orders"]
        for r in sales.grouped(("weekday", "hour"))
        if r["orders"]
    }


@dataclass(frozen=True)
class SupplierHealth:
    supplier_id: int
    name: str
    calls: int
    successes: int
    average_ms: int

    @property
    def success_rate(self) -> Decimal | None:
        return rate(self.successes, self.calls)


def supplier_health(period: Period) -> list[SupplierHealth]:
    """Order submissions to each supplier: how many succeeded and how long
    they took on average."""
    start, end = day_start(period.since), day_start(period.until + timedelta(days=1))
    rows = (
        SupplierCall.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            operation=SupplierCall.Operation.SUBMIT,
        )
        .values("supplier_id", "supplier__name")
        .annotate(
            calls=Count("id"),
            ok=Count(
                "id",
                filter=Q(
                    outcome__in=(
                        SupplierCall.Outcome.SUCCESS,
                        SupplierCall.Outcome.PROCESSING,
                    )
                ),
            ),
            latency=Sum("latency_ms"),
        )
        .order_by("supplier__name")
    )
    return [
        SupplierHealth(
            supplier_id=row["supplier_id"],
            name=row["supplier__name"],
            calls=row["calls"],
            successes=row["ok"],
            average_ms=round((row["latency"] or 0) / row["calls"])
            if row["calls"]
            else 0,
        )
        for row in rows
    ]


def scope_names(scope: Scope) -> dict[str, str]:
    """The filters of a scope as people read them (field → name)."""
    names: dict[str, str] = {}
    if scope.category is not None:
        names["category"] = (
            Category.objects.filter(pk=scope.category)
            .values_list("name", flat=True)
            .first()
            or "—"
        )
    if scope.product is not None:
        names["product"] = (
            Product.objects.filter(pk=scope.product)
            .values_list("name", flat=True)
            .first()
            or "—"
        )
    if scope.sku is not None:
        names["sku"] = sku_name(
            Sku.objects.filter(pk=scope.sku).select_related("product").first()
        )
    if scope.level is not None:
        names["level"] = str(dict(level_names()).get(scope.level, "—"))
    if scope.segment is not None:
        names["segment"] = (
            Segment.objects.filter(pk=scope.segment)
            .values_list("name", flat=True)
            .first()
            or "—"
        )
    if scope.weekday is not None:
        names["weekday"] = str(WEEKDAYS[scope.weekday - 1])
    if scope.hour is not None:
        names["hour"] = f"{scope.hour:02d}:00"
    return names


# ---------------------------------------------------------------- retention


@dataclass(frozen=True)
class Cohort:
    """Buyers who signed up in one week (Monday to Sunday, shop time)."""

    week: date  # its Monday
    size: int
    buyers: int  # paid at least once
    repeat: dict[int, int | None]  # n → bought again within n days (None: too young)

    def repeat_rate(self, days: int) -> Decimal | None:
        count = self.repeat.get(days)
        return None if count is None else rate(count, self.size)

    @property
    def buyer_rate(self) -> Decimal | None:
        return rate(self.buyers, self.size)

    @property
    def rates(self) -> list[Decimal | None]:
        """D1, D7, D30 in order."""
        return [self.repeat_rate(days) for days in RETENTION_DAYS]


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def first_payments(members: QuerySet[User]):
    """(date_joined, first paid, second paid) of each member, from the buyer
    days: the first paid day's first payment, and the earlier of that day's
    second payment and the next paid day's first one."""
    paid_days = BuyerDay.objects.filter(
        user_id=OuterRef("pk"), first_paid_at__isnull=False
    ).order_by("day")
    rows = members.annotate(
        first_paid=Subquery(paid_days.values("first_paid_at")[:1]),
        same_day=Subquery(paid_days.values("second_paid_at")[:1]),
        next_day=Subquery(paid_days.values("first_paid_at")[1:2]),
    ).values_list("date_joined", "first_paid", "same_day", "next_day")
    for joined, first_paid, same_day, next_day in rows:
        later = [moment for moment in (same_day, next_day) if moment is not None]
        yield joined, first_paid, min(later) if later else None


def first_payments_from_orders(members: QuerySet[User]):
    return (
        members.annotate(
            first_paid=Subquery(
                Order.objects.filter(buyer_id=OuterRef("pk"), paid_at__isnull=False)
                .order_by("paid_at")
                .values("paid_at")[:1]
            )
        )
        .annotate(
            second_paid=Subquery(
                Order.objects.filter(
                    buyer_id=OuterRef("pk"),
                    paid_at__gt=OuterRef("first_paid"),
                )
                .order_by("paid_at")
                .values("paid_at")[:1]
            )
        )
        .values_list("date_joined", "first_paid", "second_paid")
    )


def cohorts(
    *, weeks: int = COHORT_WEEKS, on: date | None = None, raw: bool = False
) -> list[Cohort]:
    """Signup cohorts of the last `weeks` weeks (this one included), newest
    first. A buyer repeats within n days when a second paid order came at most
    n days after the first; a rate is shown only once every member of the
    cohort has had n days since signing up. Read from the buyer days (`raw`:
    from orders)."""
    on = on or today()
    first_week = week_start(on) - timedelta(weeks=weeks - 1)
    joined = User.objects.filter(is_staff=False, date_joined__gte=day_start(first_week))
    members = (first_payments_from_orders if raw else first_payments)(joined)
    sizes: dict[date, int] = defaultdict(int)
    buyers: dict[date, int] = defaultdict(int)
    repeats: dict[date, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    shop_time = SHOP_TIME()
    for joined, first_paid, second_paid in members:
        week = week_start(timezone.localtime(joined, shop_time).date())
        sizes[week] += 1
        if first_paid is None:
            continue
        buyers[week] += 1
        if second_paid is None:
            continue
        gap = second_paid - first_paid
        for days in RETENTION_DAYS:
            if gap <= timedelta(days=days):
                repeats[week][days] += 1
    result = []
    for n in range(weeks):
        week = first_week + timedelta(weeks=n)
        last_signup = week + timedelta(days=6)
        result.append(
            Cohort(
                week=week,
                size=sizes[week],
                buyers=buyers[week],
                repeat={
                    days: repeats[week][days]
                    if last_signup + timedelta(days=days) <= on
                    else None
                    for days in RETENTION_DAYS
                },
            )
        )
    return list(reversed(result))
