"""Charts on back-office pages: ECharts options built here, drawn in the browser.

A view builds a `Chart` from a selector's rows with one of the builders below and
passes it to the template, which includes `admin/kameng/_chart.html` (and
`admin/kameng/_chart_scripts.html` in its extrahead block):

    {% include "admin/kameng/_chart.html" with chart=heatmap %}

That writes the option with Django's `json_script` (data, not code) beside an
element `static/kameng/charts.js` finds and draws with the vendored ECharts
(`static/vendor/echarts/`). No inline script, no CDN. Options hold numbers and
labels only: no JavaScript functions, so every formatter is ECharts' own.
Numbers arrive as int or float; Decimal money is turned into float here, for
drawing only (tables beside the chart show the exact amounts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

Number = int | float | Decimal

TOOLTIP = {"trigger": "item", "confine": True}
GRID = {"left": 8, "right": 16, "top": 40, "bottom": 8, "containLabel": True}


@dataclass(frozen=True)
class Chart:
    """One chart on a page: `element_id` names its json_script element, `label`
    is what a screen reader says, `height` in px (the width follows the page)."""

    element_id: str
    label: str
    option: dict
    height: int = 320


def plain(value: Number | None) -> int | float:
    """A number ECharts can read (json_script cannot write a Decimal)."""
    if value is None:
        return 0
    if isinstance(value, Decimal):
        return float(value)
    return value


def heatmap(
    *,
    element_id: str,
    label: str,
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    values: dict[tuple[int, int], Number],
    value_name: str,
    height: int | None = None,
) -> Chart:
    """Cells (x index, y index) → value; empty cells are left out."""
    data = [[x, y, plain(value)] for (x, y), value in sorted(values.items()) if value]
    top = max((cell[2] for cell in data), default=0)
    option = {
        "tooltip": {**TOOLTIP, "position": "top"},
        "grid": {**GRID, "bottom": 56},
        "xAxis": {
            "type": "category",
            "data": list(x_labels),
            "splitArea": {"show": True},
        },
        "yAxis": {
            "type": "category",
            "data": list(y_labels),
            "splitArea": {"show": True},
        },
        "visualMap": {
            "min": 0,
            "max": top or 1,
            "calculable": True,
            "orient": "horizontal",
            "left": "center",
            "bottom": 0,
            "itemHeight": 120,
        },
        "series": [
            {
                "name": value_name,
                "type": "heatmap",
                "data": data,
                "emphasis": {"itemStyle": {"borderColor": "#333", "borderWidth": 1}},
            }
        ],
    }
    return Chart(
        element_id=element_id,
        label=label,
        option=option,
        height=height or max(240, 28 * len(y_labels) + 110),
    )


def lines(
    *,
    element_id: str,
    label: str,
    x_labels: Sequence[str],
    series: dict[str, Sequence[Number]],
    stacked: bool = False,
    height: int = 320,
) -> Chart:
    """One line per name over the same x labels (dates, weeks)."""
    option = {
        "tooltip": {"trigger": "axis", "confine": True},
        "legend": {"type": "scroll", "top": 0},
        "grid": GRID,
        "xAxis": {"type": "category", "data": list(x_labels), "boundaryGap": False},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "name": name,
                "type": "line",
                "data": [plain(value) for value in values],
                "showSymbol": len(x_labels) <= 31,
                **({"stack": "total", "areaStyle": {}} if stacked else {}),
            }
            for name, values in series.items()
        ],
    }
    return Chart(element_id=element_id, label=label, option=option, height=height)


def bars(
    *,
    element_id: str,
    label: str,
    categories: Sequence[str],
    series: dict[str, Sequence[Number]],
    stacked: bool = True,
    horizontal: bool = True,
    height: int | None = None,
) -> Chart:
    """Bars per category, one series per name (stacked by default); horizontal
    bars keep long Chinese names readable on a phone."""
    category_axis = {"type": "category", "data": list(categories)}
    value_axis = {"type": "value"}
    option = {
        "tooltip": {
            "trigger": "axis",
            "axisPointer": {"type": "shadow"},
            "confine": True,
        },
        "legend": {"type": "scroll", "top": 0},
        "grid": GRID,
        "xAxis": value_axis if horizontal else category_axis,
        "yAxis": category_axis if horizontal else value_axis,
        "series": [
            {
                "name": name,
                "type": "bar",
                "data": [plain(value) for value in values],
                **({"stack": "total"} if stacked else {}),
            }
            for name, values in series.items()
        ],
    }
    if height is None:
        height = max(240, 32 * len(categories) + 90) if horizontal else 320
    return Chart(element_id=element_id, label=label, option=option, height=height)
