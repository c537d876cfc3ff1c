"""Insight pages (洞察): which levels and segments buy which categories, demand
by hour of day × category, and how member levels grow. Back-office pages inside
the admin site; each reads selectors and draws them with ECharts
(kameng/charts.py) beside a table. Profit appears only to those who may see cost
(catalog.view_cost).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.forms import HourDemandForm, PeriodForm
from analytics.selectors import (
    HOURS,
    hour_category_demand,
    level_category_mix,
    level_growth,
    segment_category_mix,
)
from kameng import charts
from kameng.admin_pages import render_page, staff_page
from kameng.navigation import Page, register_page

PERMISSION = "analytics.view_insights"
COST_PERMISSION = "catalog.view_cost"

for url_name, title, icon in (
    (
        "analytics:insight_levels",
        gettext_lazy("Levels × categories"),
        "stacked_bar_chart",
    ),
    ("analytics:insight_hours", gettext_lazy("Demand by hour"), "grid_on"),
    ("analytics:insight_growth", gettext_lazy("Level growth"), "trending_up"),
):
    register_page(
        Page(
            app_label="analytics",
            title=title,
            url_name=url_name,
            permission=PERMISSION,
            icon=icon,
        )
    )


def read_period(form: PeriodForm):
    """The period asked for, or the default one when the form has errors (shown
    above the figures)."""
    if form.is_valid():
        return form.cleaned_data["since"], form.cleaned_data["until"]
    return PeriodForm.default_period()


def hour_label(hour: int) -> str:
    return f"{hour:02d}:00"


@staff_page(PERMISSION)
def levels_page(request):
    form = PeriodForm(request.GET)
    since, until = read_period(form)
    with_cost = request.user.has_perm(COST_PERMISSION)
    by_level = level_category_mix(since=since, until=until, with_cost=with_cost)
    by_segment = segment_category_mix(since=since, until=until, with_cost=with_cost)
    sections = [
        {
            "key": key,
            "title": title,
            "group_label": group_label,
            "rows": mix.rows(),
            "chart": charts.bars(
                element_id=f"{key}-chart",
                label=title,
                categories=[name for _key, name in mix.groups],
                series=mix.gmv_series(),
            ),
        }
        for key, mix, title, group_label in (
            (
                "levels",
                by_level,
                _("GMV by member level and category"),
                _("Member level"),
            ),
            ("segments", by_segment, _("GMV by segment and category"), _("Segment")),
        )
    ]
    return render_page(
        request,
        "analytics/levels.html",
        {
            "form": form,
            "since": since,
            "until": until,
            "sections": sections,
            "with_cost": with_cost,
            "page_id": "insight-levels",
        },
        title=_("Levels × categories"),
    )


@staff_page(PERMISSION)
def hours_page(request):
    form = HourDemandForm(request.GET)
    since, until = read_period(form)
    measure = form.cleaned_data["measure"] if form.is_valid() else "orders"
    demand = hour_category_demand(since=since, until=until)
    measure_label = dict(form.fields["measure"].choices)[measure]
    chart = charts.heatmap(
        element_id="hours-chart",
        label=_("%(measure)s by hour of day and category") % {"measure": measure_label},
        x_labels=[hour_label(hour) for hour in HOURS],
        y_labels=[name for _pk, name in demand.categories],
        values={
            (hour, row): demand.value(hour, category, measure)
            for row, (category, _name) in enumerate(demand.categories)
            for hour in HOURS
        },
        value_name=str(measure_label),
    )
    peaks = [
        {
            "category": name,
            "hour": demand.peak_hour(category, measure),
            "value": max(demand.by_hour(category, measure)),
            "total": sum(demand.by_hour(category, measure)),
        }
        for category, name in demand.categories
    ]
    return render_page(
        request,
        "analytics/hours.html",
        {
            "form": form,
            "since": since,
            "until": until,
            "chart": chart,
            "peaks": peaks,
            "measure": measure,
            "measure_label": measure_label,
            "page_id": "insight-hours",
        },
        title=_("Demand by hour"),
    )


@staff_page(PERMISSION)
def growth_page(request):
    form = PeriodForm(request.GET)
    since, until = read_period(form)
    growth = level_growth(since=since, until=until)
    chart = charts.lines(
        element_id="growth-chart",
        label=_("Buyers at each member level, day by day"),
        x_labels=[day.strftime("%m-%d") for day in growth.days],
        series={name: growth.members[level] for level, name in growth.levels},
    )
    rows = [
        {
            "level": name,
            "start": growth.members[level][0],
            "end": growth.members[level][-1],
            "change": growth.change(level),
        }
        for level, name in growth.levels
    ]
    return render_page(
        request,
        "analytics/growth.html",
        {
            "form": form,
            "since": since,
            "until": until,
            "growth": growth,
            "rows": rows,
            "chart": chart,
            "page_id": "insight-growth",
        },
        title=_("Level growth"),
    )
