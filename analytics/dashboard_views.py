"""The dashboard (the back-office home, /admin/), the period comparison and the
retention page.

The home is the admin index: settings' UNFOLD["DASHBOARD_CALLBACK"] names
`dashboard_callback`, which adds the dashboard to the index's context for those
who may see it (analytics.view_insights: operations, marketing, finance, super
admin); support sees the figures of its own work (open tickets, supplier
success) and everyone keeps the counts of kameng.dashboard. Gross profit only
with catalog.view_cost. Every read goes through the read replica when one is
configured (kameng.replica).
"""

from __future__ import annotations

from django.http import QueryDict
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics import dashboard_charts as charts
from analytics.dashboard import (
    Period,
    Sales,
    Scope,
    cohorts,
    compare,
    funnel,
    level_mix,
    open_tickets,
    period_figures,
    sales_mix,
    scope_names,
    supplier_health,
    top_skus,
    trend,
    weekday_hours,
)
from analytics.dashboard_forms import SCOPE_FIELDS, CompareForm, DashboardForm
from analytics.forms import PeriodForm
from analytics.views import COST_PERMISSION, PERMISSION, read_period
from kameng.admin_pages import render_page, staff_page
from kameng.dashboard import dashboard_callback as counts_callback
from kameng.navigation import Page, register_page
from kameng.replica import replica_reads
from marketing.models import Segment

TICKETS_PERMISSION = "orders.view_ticket"
SUPPLIER_CALLS_PERMISSION = "catalog.view_suppliercall"
MIX_TITLES = {
    "category": gettext_lazy("GMV by category"),
    "product": gettext_lazy("GMV by product"),
    "sku": gettext_lazy("GMV by SKU"),
}
SCOPE_LABELS = {
    "category": gettext_lazy("Category"),
    "product": gettext_lazy("Product"),
    "sku": gettext_lazy("SKU"),
    "level": gettext_lazy("Member level"),
    "segment": gettext_lazy("Segment"),
    "weekday": gettext_lazy("Weekday"),
    "hour": gettext_lazy("Hour"),
}

for url_name, title, icon in (
    ("analytics:compare", gettext_lazy("Compare periods"), "compare_arrows"),
    ("analytics:retention", gettext_lazy("Retention and funnel"), "filter_alt"),
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


def link_with(query: QueryDict, path: str = "") -> callable:
    """A function: filters to set → this page's URL with them (drilling down to
    a narrower level forgets what lies below it, e.g. a new category forgets the
    product)."""
    below = {"category": ("product", "sku"), "product": ("sku",)}

    def link(changes: dict) -> str:
        merged = query.copy()
        for name, value in changes.items():
            for lower in below.get(name, ()):
                merged.pop(lower, None)
            merged[name] = str(value)
        return f"{path}?{merged.urlencode()}"

    return link


def without_link(query: QueryDict, *names: str) -> str:
    rest = query.copy()
    for name in names:
        rest.pop(name, None)
    encoded = rest.urlencode()
    return f"?{encoded}" if encoded else "?"


def filter_chips(query: QueryDict, scope: Scope) -> list[dict]:
    """The active filters with a link that removes each (and what depends on it)."""
    below = {"category": ("product", "sku"), "product": ("sku",)}
    return [
        {
            "field": name,
            "label": SCOPE_LABELS[name],
            "value": value,
            "remove": without_link(query, name, *below.get(name, ())),
        }
        for name, value in scope_names(scope).items()
    ]


def supplier_link(user) -> callable:
    def link(supplier_id: int) -> str | None:
        if not user.has_perm(SUPPLIER_CALLS_PERMISSION):
            return None
        try:
            base = reverse("admin:catalog_suppliercall_changelist")
        except NoReverseMatch:
            return None
        return f"{base}?supplier__id__exact={supplier_id}"

    return link


@replica_reads
def dashboard_context(request) -> dict:
    """What the home shows this user (empty for a role with nothing to see)."""
    user = request.user
    full = user.has_perm(PERMISSION)
    sees_tickets = user.has_perm(TICKETS_PERMISSION)
    sees_suppliers = user.has_perm(SUPPLIER_CALLS_PERMISSION)
    if not (full or sees_tickets or sees_suppliers):
        return {}
    form = DashboardForm(request.GET)
    period_name, period = form.chosen()
    scope = form.scope() if full else Scope()
    previous = period.previous()
    with_cost = user.has_perm(COST_PERMISSION)
    current_figures = period_figures(period=period, scope=scope)
    previous_figures = period_figures(period=previous, scope=scope)
    metrics = compare(current_figures, previous_figures, with_cost=with_cost)
    if not full:
        shown = {"tickets_opened"} if sees_tickets else set()
        if sees_suppliers:
            shown.add("supplier_success_rate")
        metrics = [metric for metric in metrics if metric.code in shown]
    context = {
        "form": form,
        "period_name": period_name,
        "period": period,
        "previous": previous,
        "metrics": metrics,
        "full": full,
        "open_tickets": open_tickets() if sees_tickets else None,
        "tickets_url": tickets_url() if sees_tickets else None,
        "with_cost": with_cost,
    }
    if not full:
        return context
    link = link_with(request.GET)
    sales = Sales(period=period, scope=scope)
    days = trend(sales)
    day_links = [
        (
            link(
                {"period": "custom", "since": day.isoformat(), "until": day.isoformat()}
            )
            if period.days > 1
            else link({"hour": index})
        )
        for index, day in enumerate(period.each_day() if period.days > 1 else range(24))
    ]
    mix_level, mix = sales_mix(sales)
    levels = level_mix(sales)
    skus = top_skus(sales)
    suppliers = supplier_health(period)
    context.update(
        scope=scope,
        chips=filter_chips(request.GET, scope),
        clear_link=without_link(request.GET, *SCOPE_FIELDS),
        period_links=[
            {
                "name": value,
                "label": label,
                "url": link({"period": value}) if value != "custom" else None,
            }
            for value, label in form.fields["period"].choices
        ],
        segments=list(Segment.objects.order_by("name").values_list("pk", "name")),
        compare_url=reverse("analytics:compare") + f"?{scope_query(scope)}",
        retention_url=reverse("analytics:retention"),
        mix_title=MIX_TITLES[mix_level],
        mix=mix,
        mix_links=[(row, link(row.drill)) for row in mix],
        skus=skus,
        suppliers=suppliers,
        charts={
            "trend": charts.trend_chart(rows=days, links=day_links),
            "mix": charts.mix_chart(
                rows=mix, link=link, label=str(MIX_TITLES[mix_level])
            ),
            "heat": charts.heat_chart(cells=weekday_hours(sales), link=link),
            "skus": charts.bar_chart(
                element_id="dashboard-skus",
                label=_("Top SKUs by GMV"),
                rows=skus,
                link=link,
                value_name=_("GMV"),
            ),
            "levels": charts.bar_chart(
                element_id="dashboard-levels",
                label=_("GMV by member level"),
                rows=levels,
                link=link,
                value_name=_("GMV"),
            ),
            "suppliers": charts.supplier_chart(
                rows=suppliers, link=supplier_link(user)
            ),
        },
    )
    return context


def scope_query(scope: Scope) -> str:
    query = QueryDict(mutable=True)
    for name, value in scope.as_query().items():
        query[name] = str(value)
    return query.urlencode()


def tickets_url() -> str | None:
    try:
        base = reverse("admin:orders_ticket_changelist")
    except NoReverseMatch:
        return None
    return base


def dashboard_callback(request, context):
    """Unfold's DASHBOARD_CALLBACK: the counts, then the dashboard."""
    context = counts_callback(request, context)
    context["dashboard"] = dashboard_context(request)
    return context


@staff_page(PERMISSION)
@replica_reads
def compare_page(request):
    form = CompareForm(request.GET)
    a, b = form.periods()
    scope = form.scope()
    with_cost = request.user.has_perm(COST_PERMISSION)
    figures_a = period_figures(period=a, scope=scope)
    figures_b = period_figures(period=b, scope=scope)
    a_label = period_label("A", a)
    b_label = period_label("B", b)
    return render_page(
        request,
        "analytics/compare.html",
        {
            "form": form,
            "a": a,
            "b": b,
            "metrics": compare(figures_a, figures_b, with_cost=with_cost),
            "chips": filter_chips(request.GET, scope),
            "chart": charts.compare_chart(
                a=trend(Sales(period=a, scope=scope)),
                b=trend(Sales(period=b, scope=scope)),
                a_label=a_label,
                b_label=b_label,
            ),
            "scope_fields": [(name, value) for name, value in scope.as_query().items()],
            "page_id": "compare",
        },
        title=_("Compare periods"),
    )


def period_label(letter: str, period: Period) -> str:
    return f"{letter} {period.since:%m-%d}–{period.until:%m-%d}"


@staff_page(PERMISSION)
@replica_reads
def retention_page(request):
    form = PeriodForm(request.GET)
    since, until = read_period(form)
    steps = funnel(Period(since=since, until=until)).steps()
    return render_page(
        request,
        "analytics/retention.html",
        {
            "form": form,
            "since": since,
            "until": until,
            "steps": steps,
            "chart": charts.funnel_chart(steps=steps),
            "cohorts": cohorts(),
            "page_id": "retention",
        },
        title=_("Retention and funnel"),
    )
