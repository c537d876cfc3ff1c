"""The dashboard's ECharts options (kameng.charts' Chart), each data item
carrying the link a click opens (`href`, read by static/kameng/charts.js): the
same page narrowed by one more filter, so every drill-down is a shareable URL."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.utils.translation import gettext as _

from analytics.dashboard import WEEKDAYS, MixRow, SupplierHealth
from kameng import charts
from kameng.charts import GRID, TOOLTIP, Chart, plain

Link = Callable[[dict], str]  # filters to add → URL


def trend_chart(*, rows: list[dict], links: list[str | None]) -> Chart:
    """Orders as bars and GMV as a line over the period (two axes)."""
    option = {
        "tooltip": {"trigger": "axis", "confine": True},
        "legend": {"top": 0},
        "grid": {**GRID, "top": 48},
        "xAxis": {"type": "category", "data": [row["label"] for row in rows]},
        "yAxis": [
            {"type": "value", "name": _("GMV"), "splitLine": {"show": False}},
            {"type": "value", "name": _("Orders"), "minInterval": 1},
        ],
        "series": [
            {
                "name": _("GMV"),
                "type": "line",
                "data": [
                    {"value": plain(row["gmv"]), **({"href": href} if href else {})}
                    for row, href in zip(rows, links, strict=True)
                ],
                "showSymbol": len(rows) <= 31,
            },
            {
                "name": _("Orders"),
                "type": "bar",
                "yAxisIndex": 1,
                "data": [
                    {"value": row["orders"], **({"href": href} if href else {})}
                    for row, href in zip(rows, links, strict=True)
                ],
            },
        ],
    }
    return Chart(element_id="dashboard-trend", label=_("GMV and orders"), option=option)


def mix_chart(*, rows: list[MixRow], link: Link, label: str) -> Chart:
    """A ring of GMV shares; a slice opens the next level down."""
    option = {
        "tooltip": {**TOOLTIP},
        "legend": {"type": "scroll", "bottom": 0},
        "series": [
            {
                "name": label,
                "type": "pie",
                "radius": ["35%", "65%"],
                "avoidLabelOverlap": True,
                "label": {"show": True, "formatter": "{b}: {d}%"},
                "data": [
                    {"name": row.name, "value": plain(row.gmv), "href": link(row.drill)}
                    for row in rows
                    if row.gmv
                ],
            }
        ],
    }
    return Chart(element_id="dashboard-mix", label=label, option=option, height=340)


def bar_chart(
    *, element_id: str, label: str, rows: list[MixRow], link: Link, value_name: str
) -> Chart:
    """Horizontal GMV bars (largest on top); a bar narrows to its row."""
    ordered = list(reversed(rows))
    chart = charts.bars(
        element_id=element_id,
        label=label,
        categories=[row.name for row in ordered],
        series={value_name: [row.gmv for row in ordered]},
        stacked=False,
    )
    series = chart.option["series"][0]
    series["data"] = [
        {"value": value, "href": link(row.drill)}
        for value, row in zip(series["data"], ordered, strict=True)
    ]
    chart.option["legend"] = {"show": False}
    return chart


def heat_chart(*, cells: dict[tuple[int, int], int], link: Link) -> Chart:
    """Orders by hour (x) × weekday (y); a cell narrows to that weekday and hour."""
    chart = charts.heatmap(
        element_id="dashboard-heat",
        label=_("Orders by weekday and hour"),
        x_labels=[f"{hour:02d}" for hour in range(24)],
        y_labels=[str(day) for day in WEEKDAYS],
        values={(hour, weekday - 1): count for (hour, weekday), count in cells.items()},
        value_name=_("Orders"),
    )
    series = chart.option["series"][0]
    series["data"] = [
        {"value": cell, "href": link({"weekday": cell[1] + 1, "hour": cell[0]})}
        for cell in series["data"]
    ]
    return chart


def supplier_chart(
    *, rows: Sequence[SupplierHealth], link: Callable[[int], str | None]
) -> Chart:
    """Success rate (bars, %) and average latency (line, ms) per supplier."""
    option = {
        "tooltip": {"trigger": "axis", "confine": True},
        "legend": {"top": 0},
        "grid": {**GRID, "top": 48},
        "xAxis": {"type": "category", "data": [row.name for row in rows]},
        "yAxis": [
            {"type": "value", "name": "%", "max": 100},
            {"type": "value", "name": "ms", "splitLine": {"show": False}},
        ],
        "series": [
            {
                "name": _("Success rate"),
                "type": "bar",
                "data": [
                    {
                        "value": plain(row.success_rate),
                        **(
                            {"href": link(row.supplier_id)}
                            if link(row.supplier_id)
                            else {}
                        ),
                    }
                    for row in rows
                ],
            },
            {
                "name": _("Average latency (ms)"),
                "type": "line",
                "yAxisIndex": 1,
                "data": [row.average_ms for row in rows],
            },
        ],
    }
    return Chart(
        element_id="dashboard-suppliers",
        label=_("Supplier success and latency"),
        option=option,
        height=300,
    )


def funnel_chart(*, steps: list[dict]) -> Chart:
    option = {
        "tooltip": {**TOOLTIP},
        "series": [
            {
                "name": _("Funnel"),
                "type": "funnel",
                "sort": "none",
                "left": "10%",
                "width": "80%",
                "label": {"show": True, "position": "inside", "formatter": "{b}: {c}"},
                "data": [
                    {"name": str(step["name"]), "value": step["count"]}
                    for step in steps
                ],
            }
        ],
    }
    return Chart(
        element_id="retention-funnel", label=_("Funnel"), option=option, height=300
    )


def compare_chart(*, a: list[dict], b: list[dict], a_label: str, b_label: str) -> Chart:
    """GMV of two periods day by day, aligned on the first day."""
    length = max(len(a), len(b))
    return charts.lines(
        element_id="compare-chart",
        label=_("GMV day by day"),
        x_labels=[_("Day %(n)d") % {"n": n + 1} for n in range(length)],
        series={
            a_label: [row["gmv"] for row in a],
            b_label: [row["gmv"] for row in b],
        },
    )
