"""Reads of the inventory monitor (/admin/catalog/inventory/) and the stock alerts.

Figures per SKU:

- stock: ``Sku.stock`` (counter, or available codes kept by the code services);
  SKUs with unlimited stock show "unlimited" and are never low or out.
- sold 24 h: from the day-granular ``SkuSalesDay`` rollup, today's units plus
  yesterday's units prorated by the share of yesterday that lies within the last
  24 hours (at 06:00 that is 18/24 of yesterday). An estimate, rounded for display.
- sold 7 d: units sold on the last 7 local days, today included.
- days of cover: stock / (sold 7 d / 7); 0 without stock; None (shown ∞)
  without sales or with unlimited stock.
- best supplier (top-up SKUs): the enabled offer of an enabled supplier that is
  healthy, lowest priority number first; without a healthy one, the first
  usable (degraded) offer. Its success rate and latency come from
  catalog.selectors.health.
- state, first that applies: paused (made inactive by an operator), out (tracked
  stock 0), degraded (top-up SKU without a healthy offer), low (tracked stock at
  or below the SKU's threshold), ok. A SKU the stock monitor paused shows the
  reason (out / degraded) with an "automatically paused" note.

Queries: the page costs a fixed number of queries whatever its size (rows, their
supply health: two, the category list, the open alerts). Filtering or sorting by
state, success rate or latency computes supplier health for every SKU the other
filters keep (still two queries), the rest only for the SKUs on the page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Category, Sku, SkuSalesDay, StockAlert, SupplierOffer
from catalog.selectors.health import CallStats, Health, judge, recent_call_stats
from catalog.stock import StockState, stock_state, stock_state_is

UNLIMITED = Sku.StockMode.UNLIMITED
TOPUP = Sku.DeliveryType.TOPUP


class State:
    """The monitor's state: the stock state (catalog.stock) plus paused and
    degraded."""

    OK = StockState.OK.value
    LOW = StockState.LOW.value
    OUT = StockState.OUT.value
    DEGRADED = "degraded"
    PAUSED = "paused"

    choices = [
        (OUT, _("Sold out")),
        (DEGRADED, _("Supplier degraded")),
        (LOW, _("Low stock")),
        (PAUSED, _("Paused")),
        (OK, _("OK")),
    ]
    # Sorting by state ascending puts the most urgent first.
    rank = {OUT: 0, DEGRADED: 1, LOW: 2, PAUSED: 3, OK: 4}
    labels = dict(choices)


# column key → label; every one is sortable on the server.
COLUMNS = [
    ("code", _("SKU code")),
    ("state", _("State")),
    ("stock", _("Stock")),
    ("sold_24h", _("Sold 24 h")),
    ("sold_7d", _("Sold 7 d")),
    ("cover", _("Days of cover")),
    ("success", _("Supplier success")),
    ("latency", _("Supplier latency")),
    ("name", _("Product / spec")),
    ("category", _("Category")),
    ("delivery", _("Delivery")),
]
SORT_KEYS = [key for key, _label in COLUMNS]
# Shown after "Days of cover" when a forecast reader is registered; not sortable.
FORECAST_COLUMNS = [
    ("forecast", _("Forecast 7 / 30 d")),
    ("restock", _("Codes to import")),
]

# Demand forecasts are analytics' (issue 14), an app catalog may not import:
# AnalyticsConfig.ready registers the function that reads them for a page of
# SKUs (one query), as marketing registers its coupon issuer.
ForecastReader = Callable[[Sequence[int]], Mapping[int, object]]
forecast_readers: list[ForecastReader] = []


def register_forecast_reader(reader: ForecastReader) -> None:
    forecast_readers[:] = [reader]


def page_forecasts(sku_ids: Sequence[int]) -> Mapping[int, object]:
    if not forecast_readers or not sku_ids:
        return {}
    return forecast_readers[0](sku_ids)


PAGE_SIZES = (50, 100, 200)


@dataclass(frozen=True)
class OfferSupply:
    offer_id: int
    supplier_id: int
    supplier_name: str
    priority: int
    usable: bool  # offer and supplier enabled
    health: Health


@dataclass
class Supply:
    """A top-up SKU's offers, best first."""

    offers: list[OfferSupply] = field(default_factory=list)

    @property
    def best(self) -> OfferSupply | None:
        return self.offers[0] if self.offers and self.offers[0].usable else None

    @property
    def healthy(self) -> bool:
        best = self.best
        return best is not None and best.health.healthy


def sku_supply(*, sku_ids, now: datetime | None = None) -> dict[int, Supply]:
    """Offers and their health for the given SKUs (a list of ids or a queryset of
    SKU ids): two queries. SKUs without offers get no entry."""
    offers = list(
        SupplierOffer.objects.filter(sku_id__in=sku_ids)
        .order_by()
        .values_list(
            "pk",
            "sku_id",
            "supplier_id",
            "supplier__name",
            "priority",
            "enabled",
            "supplier__enabled",
            "supplier__breaker_state",
        )
    )
    stats = recent_call_stats(by="offer", ids=[row[0] for row in offers], now=now)
    supply: dict[int, Supply] = {}
    for pk, sku_id, supplier_id, name, priority, on, supplier_on, breaker in offers:
        supply.setdefault(sku_id, Supply()).offers.append(
            OfferSupply(
                offer_id=pk,
                supplier_id=supplier_id,
                supplier_name=name,
                priority=priority,
                usable=on and supplier_on,
                health=judge(stats.get(pk, CallStats()), breaker_state=breaker),
            )
        )
    for entry in supply.values():
        entry.offers.sort(
            key=lambda o: (not o.usable, o.health.degraded, o.priority, o.offer_id)
        )
    return supply


def sku_state(
    *,
    is_active: bool,
    auto_paused: bool,
    delivery_type: str,
    stock_mode: str,
    stock: int,
    low_stock_threshold: int,
    supply_healthy: bool,
) -> str:
    if not is_active and not auto_paused:
        return State.PAUSED
    level = stock_state(
        stock_mode=stock_mode, stock=stock, low_stock_threshold=low_stock_threshold
    )
    if level == StockState.OUT:
        return State.OUT
    if delivery_type == TOPUP and not supply_healthy:
        return State.DEGRADED
    return level.value


def _state_rank_expression(healthy_topup_ids: list[int]):
    """The database's version of sku_state(), as a rank (see State.rank)."""
    rank = State.rank
    return Case(
        When(is_active=False, auto_paused=False, then=Value(rank[State.PAUSED])),
        When(stock_state_is(StockState.OUT), then=Value(rank[State.OUT])),
        When(
            Q(delivery_type=TOPUP) & ~Q(pk__in=healthy_topup_ids),
            then=Value(rank[State.DEGRADED]),
        ),
        When(stock_state_is(StockState.LOW), then=Value(rank[State.LOW])),
        default=Value(rank[State.OK]),
        output_field=IntegerField(),
    )


def _sold(first_day, last_day):
    units = (
        SkuSalesDay.objects.filter(
            sku=OuterRef("pk"), day__gte=first_day, day__lte=last_day
        )
        .order_by()
        .values("sku")
        .annotate(units=Sum("quantity"))
        .values("units")
    )
    return Coalesce(Subquery(units, output_field=IntegerField()), 0)


def share_of_yesterday(now: datetime) -> float:
    """How much of yesterday lies within the 24 hours before `now` (local)."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(0.0, 1 - (now - midnight).total_seconds() / 86400)


def sold_24h(*, today: int, yesterday: int, share: float) -> float:
    return today + yesterday * share


def days_cover(*, stock_mode: str, stock: int, sold_7d: int) -> float | None:
    if stock_mode == UNLIMITED:
        return None
    if stock == 0:
        return 0.0
    if not sold_7d:
        return None
    return stock * 7.0 / sold_7d


def with_sales(queryset: QuerySet[Sku], *, now: datetime | None = None) -> QuerySet:
    """Annotate sold_today, sold_yesterday and sold_7d (one indexed subquery each);
    sold 24 h and days of cover are derived from them (sold_24h(), days_cover()),
    in SQL only to sort by them (sales_sort_keys())."""
    today = timezone.localtime(now).date()
    yesterday = today - timedelta(days=1)
    return queryset.annotate(
        sold_today=_sold(today, today),
        sold_yesterday=_sold(yesterday, yesterday),
        sold_7d=_sold(today - timedelta(days=6), today),
    )


def sales_sort_keys(now: datetime | None = None) -> dict:
    """The database's sold_24h() and days_cover(), over with_sales() columns."""
    share = share_of_yesterday(timezone.localtime(now))
    # Units sold and days of cover, used only to sort rows: quantities, not money
    # (no price or cost passes through here), so float arithmetic is fine.
    return {
        "sold_24h": Cast(F("sold_today"), FloatField())
        + Cast(F("sold_yesterday"), FloatField()) * Value(share),
        "days_cover": Case(
            When(stock_mode=UNLIMITED, then=Value(None)),
            When(stock=0, then=Value(0.0)),
            When(sold_7d=0, then=Value(None)),
            default=Cast(F("stock"), FloatField())
            * Value(7.0)
            / Cast(F("sold_7d"), FloatField()),
            output_field=FloatField(),
        ),
    }


@dataclass(frozen=True)
class InventoryFilters:
    q: str = ""
    state: str = ""
    category_ids: tuple[int, ...] = ()
    delivery: str = ""
    sort: str = "code"
    descending: bool = False
    page: int = 1
    page_size: int = 50


@dataclass
class InventoryRow:
    id: int
    code: str
    name: str
    product_name: str
    category_name: str
    delivery_type: str
    stock_mode: str
    stock: int
    low_stock_threshold: int
    is_active: bool
    auto_paused: bool
    sold_24h: float
    sold_7d: int
    days_cover: float | None
    supply: Supply | None
    state: str
    # The SKU's demand forecast (analytics.DemandForecast), when one is read.
    forecast: object | None = None

    @property
    def unlimited(self) -> bool:
        return self.stock_mode == UNLIMITED

    @property
    def best_offer(self) -> OfferSupply | None:
        return self.supply.best if self.supply else None

    @property
    def state_label(self) -> str:
        return State.labels[self.state]

    def get_delivery_type_display(self):
        return Sku.DeliveryType(self.delivery_type).label


@dataclass
class InventoryPage:
    rows: list[InventoryRow]
    page: int
    page_size: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


_ROW_FIELDS = (
    "id",
    "code",
    "name",
    "product__name",
    "product__category__name",
    "delivery_type",
    "stock_mode",
    "stock",
    "low_stock_threshold",
    "is_active",
    "auto_paused",
    "sold_today",
    "sold_yesterday",
    "sold_7d",
)

_SQL_ORDER = {
    "code": ("code",),
    "name": ("product__name", "name"),
    "category": ("product__category__name",),
    "delivery": ("delivery_type",),
    "stock": ("stock_sort",),
    "sold_24h": ("sold_24h",),
    "sold_7d": ("sold_7d",),
    "cover": ("days_cover",),
    "state": ("state_rank",),
}


def filtered_skus(filters: InventoryFilters) -> QuerySet[Sku]:
    qs = Sku.objects.all()
    if filters.q:
        qs = qs.filter(
            Q(code__icontains=filters.q)
            | Q(name__icontains=filters.q)
            | Q(product__name__icontains=filters.q)
        )
    if filters.category_ids:
        qs = qs.filter(product__category_id__in=filters.category_ids)
    if filters.delivery:
        qs = qs.filter(delivery_type=filters.delivery)
    return qs


def inventory_page(
    filters: InventoryFilters, *, now: datetime | None = None
) -> InventoryPage:
    base = filtered_skus(filters)
    global_health = bool(filters.state) or filters.sort in (
        "state",
        "success",
        "latency",
    )
    supply: dict[int, Supply] | None = None
    if global_health and filters.delivery in ("", TOPUP):
        supply = sku_supply(
            sku_ids=base.filter(delivery_type=TOPUP).values("pk"), now=now
        )
    elif global_health:
        supply = {}
    healthy_ids = [pk for pk, entry in (supply or {}).items() if entry.healthy]
    if supply is not None:
        base = base.annotate(state_rank=_state_rank_expression(healthy_ids))
        if filters.state:
            base = base.filter(state_rank=State.rank[filters.state])

    offset = (filters.page - 1) * filters.page_size
    limit = filters.page_size + 1
    if filters.sort in ("success", "latency"):
        ids = _ids_sorted_by_health(base, supply or {}, filters)[offset:][:limit]
        rows_by_id = {
            row["id"]: row
            for row in with_sales(Sku.objects.filter(pk__in=ids), now=now).values(
                *_ROW_FIELDS
            )
        }
        raw_rows = [rows_by_id[pk] for pk in ids if pk in rows_by_id]
    else:
        qs = with_sales(base, now=now)
        if filters.sort == "stock":
            qs = qs.alias(
                stock_sort=Case(
                    When(stock_mode=UNLIMITED, then=Value(None)),
                    default=F("stock"),
                    output_field=IntegerField(),
                )
            )
        elif filters.sort in ("sold_24h", "cover"):
            qs = qs.alias(**sales_sort_keys(now))
        order = []
        for name in _SQL_ORDER[filters.sort]:
            column = F(name)
            order.append(
                column.desc(nulls_first=True)
                if filters.descending
                else column.asc(nulls_last=True)
            )
        order.append(F("id").desc() if filters.descending else F("id").asc())
        raw_rows = list(
            qs.order_by(*order).values(*_ROW_FIELDS)[offset : offset + limit]
        )

    has_next = len(raw_rows) > filters.page_size
    raw_rows = raw_rows[: filters.page_size]
    if supply is None:
        topup_ids = [r["id"] for r in raw_rows if r["delivery_type"] == TOPUP]
        supply = sku_supply(sku_ids=topup_ids, now=now) if topup_ids else {}
    share = share_of_yesterday(timezone.localtime(now))
    rows = []
    for raw in raw_rows:
        entry = supply.get(raw["id"]) if raw["delivery_type"] == TOPUP else None
        rows.append(
            InventoryRow(
                id=raw["id"],
                code=raw["code"],
                name=raw["name"],
                product_name=raw["product__name"],
                category_name=raw["product__category__name"],
                delivery_type=raw["delivery_type"],
                stock_mode=raw["stock_mode"],
                stock=raw["stock"],
                low_stock_threshold=raw["low_stock_threshold"],
                is_active=raw["is_active"],
                auto_paused=raw["auto_paused"],
                sold_24h=sold_24h(
                    today=raw["sold_today"],
                    yesterday=raw["sold_yesterday"],
                    share=share,
                ),
                sold_7d=raw["sold_7d"],
                days_cover=days_cover(
                    stock_mode=raw["stock_mode"],
                    stock=raw["stock"],
                    sold_7d=raw["sold_7d"],
                ),
                supply=entry,
                state=sku_state(
                    is_active=raw["is_active"],
                    auto_paused=raw["auto_paused"],
                    delivery_type=raw["delivery_type"],
                    stock_mode=raw["stock_mode"],
                    stock=raw["stock"],
                    low_stock_threshold=raw["low_stock_threshold"],
                    supply_healthy=entry is not None and entry.healthy,
                ),
            )
        )
    forecasts = page_forecasts([row.id for row in rows])
    for row in rows:
        row.forecast = forecasts.get(row.id)
    return InventoryPage(
        rows=rows,
        page=filters.page,
        page_size=filters.page_size,
        has_next=has_next,
    )


def _ids_sorted_by_health(
    base: QuerySet[Sku], supply: dict[int, Supply], filters: InventoryFilters
) -> list[int]:
    """Success rate / latency of the best offer live outside SQL: order the ids of
    every SKU the filters keep in Python (a SKU without figures sorts last)."""
    ids = list(base.order_by("code").values_list("pk", flat=True))

    def figure(pk):
        best = supply[pk].best if pk in supply else None
        if best is None:
            return None
        if filters.sort == "success":
            return best.health.success_rate
        return best.health.p50_ms

    known = [(figure(pk), pk) for pk in ids]
    with_figure = [item for item in known if item[0] is not None]
    without = [pk for value, pk in known if value is None]
    with_figure.sort(key=lambda item: item[0], reverse=filters.descending)
    return [pk for _value, pk in with_figure] + without


def category_choices() -> list[tuple[int, str, int | None]]:
    """(id, label, parent id) of every category, tree order (one query)."""
    rows = list(
        Category.objects.order_by("sort_order", "id").values_list(
            "pk", "name", "parent_id"
        )
    )
    children: dict[int | None, list] = {}
    for row in rows:
        children.setdefault(row[2], []).append(row)
    ordered: list[tuple[int, str, int | None]] = []

    def walk(parent, depth):
        for pk, name, parent_id in children.get(parent, []):
            ordered.append((pk, "— " * depth + name, parent_id))
            walk(pk, depth + 1)

    walk(None, 0)
    return ordered


def with_descendants(category_id: int, categories) -> tuple[int, ...]:
    """The category and all below it, from category_choices() (no query)."""
    children: dict[int | None, list[int]] = {}
    for pk, _label, parent in categories:
        children.setdefault(parent, []).append(pk)
    found, todo = [], [category_id]
    while todo:
        pk = todo.pop()
        found.append(pk)
        todo.extend(children.get(pk, []))
    return tuple(found)


def open_alerts(*, limit: int = 10) -> dict:
    """Open stock alerts for the top of the monitor: counts by kind and the newest
    `limit` (two queries)."""
    counts = dict(
        StockAlert.objects.filter(status=StockAlert.Status.OPEN)
        .order_by()
        .values_list("kind")
        .annotate(n=Count("id"))
    )
    latest = list(
        StockAlert.objects.filter(status=StockAlert.Status.OPEN)
        .select_related("sku__product")
        .order_by("-opened_at", "-id")[:limit]
    )
    return {
        "total": sum(counts.values()),
        "by_kind": [
            {"kind": kind, "label": label, "count": counts.get(kind, 0)}
            for kind, label in StockAlert.Kind.choices
        ],
        "latest": latest,
    }
