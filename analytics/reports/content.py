"""What a report says, before it becomes a file: figures, tables and charts.

`build_content(template=..., period=..., with_cost=...)` gathers a report from the
dashboard's own selectors (analytics.dashboard), so a report and the dashboard
never disagree. The Excel writer (analytics.reports.excel) and the PDF writer
(analytics.reports.pdf) both render the same ReportContent. Without `with_cost`
(the requester, or a scheduled run's owner, lacks catalog.view_cost) no cost or
profit figure is gathered at all, so none can leak into a file.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count
from django.utils.translation import gettext as _

from analytics.dashboard import (
    Metric,
    Period,
    Sales,
    Scope,
    cohorts,
    compare,
    level_mix,
    period_figures,
    sales_mix,
    sku_name,
    top_skus,
    trend,
)
from analytics.models import ReportTemplate
from analytics.reports.summary import Anomaly, Mover, anomalies, movers, summary_text
from analytics.selectors import day_start
from catalog.models import Category, Sku
from marketing.models import Segment, SegmentMember
from users.models import Buyer, MemberLevel

ZERO = Decimal("0.00")
MONEY, COUNT, PERCENT, TEXT = "money", "count", "percent", "text"


@dataclass
class Column:
    title: str
    kind: str = TEXT  # money, count, percent or text: the number format


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[list]


@dataclass
class Chart:
    title: str
    kind: str  # "bar" or "line"
    labels: list[str]
    series: dict[str, list]  # name → values (same length as labels)


@dataclass
class ReportContent:
    title: str
    period: Period
    previous: Period
    with_cost: bool
    metrics: list[Metric] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    summary: str = ""
    movers: list[Mover] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    forecast_checked: bool = False  # best sellers compared with their forecast


def report_period(choice: str, *, on: date) -> Period:
    """The period a template reports on, for a run on `on` (its last whole days)."""
    yesterday = on - timedelta(days=1)
    if choice == ReportTemplate.PeriodChoice.LAST_WEEK:
        monday = on - timedelta(days=on.weekday() + 7)
        return Period(since=monday, until=monday + timedelta(days=6))
    if choice == ReportTemplate.PeriodChoice.LAST_MONTH:
        last = on.replace(day=1) - timedelta(days=1)
        return Period(since=last.replace(day=1), until=last)
    if choice == ReportTemplate.PeriodChoice.LAST_30_DAYS:
        return Period(since=yesterday - timedelta(days=29), until=yesterday)
    return Period(since=yesterday - timedelta(days=6), until=yesterday)


def previous_period(period: Period) -> Period:
    """A calendar month is compared with the month before; anything else with
    the same number of days just before."""
    first, last = period.since, period.until
    whole_month = (
        first.day == 1 and last.day == calendar.monthrange(last.year, last.month)[1]
    )
    if whole_month and first.month == last.month:
        end = first - timedelta(days=1)
        return Period(since=end.replace(day=1), until=end)
    return period.previous()


def money_columns(with_cost: bool) -> list[Column]:
    columns = [
        Column(_("Orders"), COUNT),
        Column(_("Units"), COUNT),
        Column(_("GMV"), MONEY),
        Column(_("Refund amount"), MONEY),
    ]
    if with_cost:
        columns += [Column(_("Cost"), MONEY), Column(_("Gross profit"), MONEY)]
    return columns


def money_cells(cell: dict, with_cost: bool) -> list:
    values = [cell["orders"], cell["units"], cell["gmv"], cell["refunds"]]
    if with_cost:
        values += [cell["cost"], cell["gmv"] - cell["refunds"] - cell["cost"]]
    return values


def build_content(
    *, template: ReportTemplate, period: Period, with_cost: bool
) -> ReportContent:
    builder = {
        ReportTemplate.Kind.WEEKLY_SALES: sales_report,
        ReportTemplate.Kind.MONTHLY_USERS: users_report,
        ReportTemplate.Kind.CUSTOM: custom_report,
    }[template.kind]
    return builder(template=template, period=period, with_cost=with_cost)


def scope_of(template: ReportTemplate) -> Scope:
    return Scope(category=template.category_id)


def sales_report(
    *, template: ReportTemplate, period: Period, with_cost: bool
) -> ReportContent:
    scope = scope_of(template)
    previous = previous_period(period)
    content = ReportContent(
        title=template.name, period=period, previous=previous, with_cost=with_cost
    )
    current_figures = period_figures(period=period, scope=scope)
    previous_figures = period_figures(period=previous, scope=scope)
    content.metrics = compare(current_figures, previous_figures, with_cost=with_cost)

    sales = Sales(period=period, scope=scope)
    earlier = Sales(period=previous, scope=scope)
    days = {row["day"]: row for row in sales.grouped(("day",))}
    empty = {"orders": 0, "units": 0, "gmv": ZERO, "refunds": ZERO, "cost": ZERO}
    content.tables.append(
        Table(
            _("Sales by day"),
            [Column(_("Day")), *money_columns(with_cost)],
            [
                [day.isoformat(), *money_cells(days.get(day, empty), with_cost)]
                for day in period.each_day()
            ],
        )
    )
    level, mix = sales_mix(sales)
    _level, earlier_mix = sales_mix(earlier)
    before = {row.key: row.gmv for row in earlier_mix}
    content.tables.append(
        Table(
            _("Category mix"),
            [
                Column(_("Category")),
                Column(_("GMV"), MONEY),
                Column(_("Orders"), COUNT),
                Column(_("GMV, previous period"), MONEY),
                Column(_("Change %"), PERCENT),
            ],
            [
                [
                    row.name,
                    row.gmv,
                    row.orders,
                    before.get(row.key, ZERO),
                    change_percent(row.gmv, before.get(row.key, ZERO)),
                ]
                for row in mix
            ],
        )
    )
    top = top_skus(sales)
    earlier_top = {row.key: row.gmv for row in top_skus(earlier, limit=50)}
    content.tables.append(
        Table(
            _("Top SKUs"),
            [
                Column(_("SKU")),
                Column(_("GMV"), MONEY),
                Column(_("Orders"), COUNT),
                Column(_("GMV, previous period"), MONEY),
            ],
            [
                [row.name, row.gmv, row.orders, earlier_top.get(row.key, ZERO)]
                for row in top
            ],
        )
    )
    daily = trend(sales)
    content.charts = [
        Chart(
            _("GMV and orders by day"),
            "line",
            [point["label"] for point in daily],
            {
                _("GMV"): [point["gmv"] for point in daily],
                _("Orders"): [point["orders"] for point in daily],
            },
        ),
        Chart(
            _("Category mix"),
            "bar",
            [row.name for row in mix],
            {_("GMV"): [row.gmv for row in mix]},
        ),
    ]
    content.movers = movers(
        current={row.name: row.gmv for row in mix},
        previous={row.name: row.gmv for row in earlier_mix},
    )
    content.anomalies = anomalies(period=period, sku_ids=[row.key for row in top])
    content.forecast_checked = True
    content.summary = summary_text(content)
    return content


def users_report(
    *, template: ReportTemplate, period: Period, with_cost: bool
) -> ReportContent:
    previous = previous_period(period)
    content = ReportContent(
        title=template.name, period=period, previous=previous, with_cost=with_cost
    )
    current_figures = period_figures(period=period)
    previous_figures = period_figures(period=previous)
    content.metrics = [
        Metric(
            "new_buyers",
            _("New buyers"),
            new_buyers(period),
            new_buyers(previous),
        ),
        *[
            metric
            for metric in compare(
                current_figures, previous_figures, with_cost=with_cost
            )
            if metric.code
            in ("buyers", "orders", "gmv", "average_order_value", "conversion")
        ],
    ]
    levels = (
        Buyer.objects.values("member_level")
        .annotate(n=Count("id"))
        .order_by("member_level")
    )
    level_names = dict(MemberLevel.objects.values_list("pk", "name"))
    level_rows = [
        [level_names.get(row["member_level"], _("No level")), row["n"]]
        for row in levels
    ]
    content.tables.append(
        Table(
            _("Buyers by member level"),
            [Column(_("Member level")), Column(_("Buyers"), COUNT)],
            level_rows,
        )
    )
    spend = level_mix(Sales(period=period))
    content.tables.append(
        Table(
            _("Sales by member level"),
            [
                Column(_("Member level")),
                Column(_("GMV"), MONEY),
                Column(_("Orders"), COUNT),
            ],
            [[row.name, row.gmv, row.orders] for row in spend],
        )
    )
    sizes = dict(
        SegmentMember.objects.values("segment_id")
        .annotate(n=Count("id"))
        .values_list("segment_id", "n")
    )
    content.tables.append(
        Table(
            _("Segments"),
            [Column(_("Segment")), Column(_("Buyers"), COUNT)],
            [
                [segment.name, sizes.get(segment.pk, 0)]
                for segment in Segment.objects.order_by("pk")
            ],
        )
    )
    weeks = cohorts(weeks=8, on=period.until)
    content.tables.append(
        Table(
            _("Sign-up cohorts by week"),
            [
                Column(_("Week of")),
                Column(_("Sign-ups"), COUNT),
                Column(_("Bought"), COUNT),
                Column(_("Repeat within 1 day %"), PERCENT),
                Column(_("Repeat within 7 days %"), PERCENT),
                Column(_("Repeat within 30 days %"), PERCENT),
            ],
            [
                [
                    cohort.week.isoformat(),
                    cohort.size,
                    cohort.buyers,
                    *[cohort.repeat_rate(days) for days in (1, 7, 30)],
                ]
                for cohort in weeks
            ],
        )
    )
    content.charts = [
        Chart(
            _("Buyers by member level"),
            "bar",
            [str(row[0]) for row in level_rows],
            {_("Buyers"): [row[1] for row in level_rows]},
        ),
        Chart(
            _("Sign-ups by week"),
            "bar",
            [cohort.week.strftime("%m-%d") for cohort in weeks],
            {_("Sign-ups"): [cohort.size for cohort in weeks]},
        ),
    ]
    content.summary = summary_text(content)
    return content


def new_buyers(period: Period) -> int:
    return Buyer.objects.filter(
        date_joined__gte=day_start(period.since),
        date_joined__lt=day_start(period.until + timedelta(days=1)),
    ).count()


CUSTOM_METRICS = {
    "orders": (_("Orders"), COUNT),
    "units": (_("Units"), COUNT),
    "gmv": (_("GMV"), MONEY),
    "refunds": (_("Refund amount"), MONEY),
    "cost": (_("Cost"), MONEY),
    "profit": (_("Gross profit"), MONEY),
}
COST_METRICS = frozenset({"cost", "profit"})


def custom_report(
    *, template: ReportTemplate, period: Period, with_cost: bool
) -> ReportContent:
    previous = previous_period(period)
    content = ReportContent(
        title=template.name, period=period, previous=previous, with_cost=with_cost
    )
    metrics = [
        code
        for code in (template.metrics or ["gmv", "orders"])
        if code in CUSTOM_METRICS and (with_cost or code not in COST_METRICS)
    ]
    dimension = template.dimension
    sales = Sales(period=period, scope=scope_of(template))
    cells = sales.grouped((dimension,))
    for cell in cells:
        cell["profit"] = cell["gmv"] - cell["refunds"] - cell["cost"]
    names = dimension_names(dimension, [cell[dimension] for cell in cells])
    cells.sort(key=lambda cell: (-cell["gmv"], str(names.get(cell[dimension], ""))))
    if dimension == "day":
        cells.sort(key=lambda cell: cell["day"])
    rows = [
        [names.get(cell[dimension], "—"), *[cell[code] for code in metrics]]
        for cell in cells
    ]
    dimension_label = ReportTemplate.Dimension(dimension).label
    content.tables.append(
        Table(
            str(template.name),
            [
                Column(str(dimension_label)),
                *[
                    Column(str(CUSTOM_METRICS[code][0]), CUSTOM_METRICS[code][1])
                    for code in metrics
                ],
            ],
            rows,
        )
    )
    if metrics:
        content.charts.append(
            Chart(
                str(CUSTOM_METRICS[metrics[0]][0]),
                "line" if dimension == "day" else "bar",
                [str(row[0]) for row in rows[:30]],
                {str(CUSTOM_METRICS[metrics[0]][0]): [row[1] for row in rows[:30]]},
            )
        )
    content.metrics = [
        metric
        for metric in compare(
            period_figures(period=period, scope=scope_of(template), shop=False),
            period_figures(period=previous, scope=scope_of(template), shop=False),
            with_cost=with_cost,
        )
        if metric.code in ("gmv", "orders", "units", "refunds", "gross_profit")
    ]
    content.summary = summary_text(content)
    return content


def dimension_names(dimension: str, keys: list) -> dict:
    if dimension == "day":
        return {key: key.isoformat() for key in keys}
    if dimension == "category":
        return dict(Category.objects.filter(pk__in=keys).values_list("pk", "name"))
    if dimension == "sku":
        skus = Sku.objects.select_related("product").in_bulk(keys)
        return {key: sku_name(sku) for key, sku in skus.items()}
    if dimension == "level":
        names = dict(MemberLevel.objects.filter(pk__in=keys).values_list("pk", "name"))
        names.update({0: _("No level"), -1: _("Guests")})
        return names
    return {key: str(key) for key in keys}


def change_percent(value: Decimal, before: Decimal) -> Decimal | None:
    if not before:
        return None
    return ((value - before) * 100 / before).quantize(Decimal("0.1"))
