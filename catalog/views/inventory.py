"""The inventory monitor (库存监控): stock, sales, cover and supplier health per SKU.

The table body is its own fragment (``inventory_rows``) that htmx reloads every
30 seconds with the same filters; the page around it is rendered once. Cost is
never shown here.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from catalog.models import Sku
from catalog.selectors.inventory import (
    COLUMNS,
    FORECAST_COLUMNS,
    PAGE_SIZES,
    SORT_KEYS,
    InventoryFilters,
    State,
    category_choices,
    inventory_page,
    open_alerts,
    with_descendants,
)
from kameng.admin_pages import render_page, staff_page
from kameng.navigation import Page, register_page

PERMISSION = "catalog.view_sku"

register_page(
    Page(
        app_label="catalog",
        title=gettext_lazy("Inventory monitor"),
        url_name="catalog:inventory",
        permission=PERMISSION,
        icon="monitor_heart",
    )
)


class InventoryFilterForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search code or name"), required=False, max_length=60
    )
    state = forms.ChoiceField(
        label=gettext_lazy("State"),
        required=False,
        choices=[("", gettext_lazy("All states")), *State.choices],
    )
    category = forms.TypedChoiceField(
        label=gettext_lazy("Category"), required=False, coerce=int, empty_value=None
    )
    delivery = forms.ChoiceField(
        label=gettext_lazy("Delivery type"),
        required=False,
        choices=[("", gettext_lazy("All delivery types")), *Sku.DeliveryType.choices],
    )
    sort = forms.ChoiceField(
        label=gettext_lazy("Sort"),
        required=False,
        choices=[(k, k) for k in SORT_KEYS] + [(f"-{k}", k) for k in SORT_KEYS],
    )
    page = forms.IntegerField(
        label=gettext_lazy("Page"), required=False, min_value=1, max_value=100_000
    )
    size = forms.TypedChoiceField(
        label=gettext_lazy("Rows per page"),
        required=False,
        coerce=int,
        empty_value=PAGE_SIZES[0],
        choices=[(n, n) for n in PAGE_SIZES],
    )

    def __init__(self, *args, categories, **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = categories
        self.fields["category"].choices = [
            ("", gettext_lazy("All categories")),
            *((pk, label) for pk, label, _parent in categories),
        ]

    def filters(self) -> InventoryFilters:
        data = self.cleaned_data if self.is_valid() else {}
        sort = data.get("sort") or "code"
        category = data.get("category")
        return InventoryFilters(
            q=(data.get("q") or "").strip(),
            state=data.get("state") or "",
            category_ids=with_descendants(category, self.categories)
            if category
            else (),
            delivery=data.get("delivery") or "",
            sort=sort.lstrip("-"),
            descending=sort.startswith("-"),
            page=data.get("page") or 1,
            page_size=data.get("size") or PAGE_SIZES[0],
        )


STATE_CLASSES = {
    State.OK: "text-green-700 dark:text-green-400",
    State.PAUSED: "text-font-subtle-light dark:text-font-subtle-dark",
}
ALERT_CLASS = "text-red-600 font-semibold"


def _cells(rows) -> list[dict]:
    """Display strings per row, computed once in Python: the template only prints
    them (a 200-row page stays cheap to render)."""
    delivery = {value: str(label) for value, label in Sku.DeliveryType.choices}
    states = {value: str(label) for value, label in State.choices}
    unlimited = _("Unlimited")
    no_offer = _("No usable offer")
    auto = _("(paused automatically)")
    cells = []
    for row in rows:
        offer = row.best_offer
        health = offer.health if offer else None
        if health is None:
            success = no_offer if row.delivery_type == "topup" else "—"
            latency = "—"
        else:
            rate = health.success_percent
            success = "{name} {rate} ({calls})".format(
                name=offer.supplier_name,
                rate="—" if rate is None else f"{rate:.1f}%",
                calls=health.calls,
            )
            latency = (
                "—"
                if health.p50_ms is None
                else f"{health.p50_ms:.0f} / {health.p95_ms:.0f} ms"
            )
        cells.append(
            {
                "code": row.code,
                "name": f"{row.product_name} · {row.name}",
                "category": row.category_name,
                "delivery": delivery[row.delivery_type],
                "stock": unlimited if row.unlimited else str(row.stock),
                "sold_24h": f"{row.sold_24h:.0f}",
                "sold_7d": str(row.sold_7d),
                "cover": "∞" if row.days_cover is None else f"{row.days_cover:.1f}",
                "success": success,
                "latency": latency,
                "state": row.state,
                "state_label": states[row.state],
                "state_class": STATE_CLASSES.get(row.state, ALERT_CLASS),
                "auto": auto if row.auto_paused else "",
                **_forecast_cells(row.forecast),
            }
        )
    return cells


def _forecast_cells(forecast) -> dict:
    """The forecast columns: units for 7 / 30 days, the back-tested errors
    (ours beside the seasonal naive one) and the codes to import."""
    if forecast is None:
        return {"forecast": "—", "forecast_error": "", "restock": "—"}
    error = ""
    if forecast.wape is not None:
        error = _("error %(wape)s%% (naive %(naive)s%%)") % {
            "wape": forecast.wape,
            "naive": "—" if forecast.naive_wape is None else forecast.naive_wape,
        }
    return {
        "forecast": f"{forecast.next_7_days} / {forecast.next_30_days}",
        "forecast_error": error,
        "restock": "—" if forecast.restock is None else str(forecast.restock),
    }


def _context(request) -> dict:
    form = InventoryFilterForm(request.GET, categories=category_choices())
    filters = form.filters()
    page = inventory_page(filters)
    kept = {}
    if form.is_valid():  # invalid input: the defaults, and the errors shown
        kept = {
            key: request.GET[key]
            for key in ("q", "state", "category", "delivery", "size")
            if request.GET.get(key)
        }
    current = ("-" if filters.descending else "") + filters.sort
    headers = []
    for key, label in COLUMNS:
        active = key == filters.sort
        next_sort = f"-{key}" if active and not filters.descending else key
        headers.append(
            {
                "key": key,
                "label": label,
                "active": active,
                "descending": active and filters.descending,
                "url": "?" + urlencode({**kept, "sort": next_sort}),
            }
        )

    position = [key for key, _label in COLUMNS].index("cover") + 1
    headers[position:position] = [
        {"key": key, "label": label, "active": False, "url": ""}
        for key, label in FORECAST_COLUMNS
    ]

    def page_url(number):
        return "?" + urlencode({**kept, "sort": current, "page": number})

    return {
        "form": form,
        "filters": filters,
        "page": page,
        "rows": _cells(page.rows),
        "headers": headers,
        "previous_url": page_url(page.page - 1) if page.has_previous else "",
        "next_url": page_url(page.page + 1) if page.has_next else "",
        "rows_url": reverse("catalog:inventory_rows")
        + "?"
        + urlencode({**kept, "sort": current, "page": page.page}),
        "page_url": reverse("catalog:inventory"),
        "column_count": len(COLUMNS) + len(FORECAST_COLUMNS),
        "page_id": "inventory",
    }


@never_cache
@require_GET
@staff_page(PERMISSION)
def inventory(request):
    context = _context(request)
    context["alerts"] = open_alerts(limit=10)
    context["can_see_alerts"] = request.user.has_perm("catalog.view_stockalert")
    return render_page(
        request,
        "catalog/inventory/monitor.html",
        context,
        title=_("Inventory monitor"),
    )


@never_cache
@require_GET
@staff_page(PERMISSION)
def inventory_rows(request):
    """The table body alone, for htmx's refresh every 30 seconds."""
    context = _context(request)
    status = 200 if context["form"].is_valid() else 400
    return render(request, "catalog/inventory/rows.html", context, status=status)
