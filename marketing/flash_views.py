"""Flash sales' back-office pages: the list of sales, a live page during a sale
(figures refreshed every few seconds by htmx, no reload) and the results
afterwards. Everything comes from marketing's own tables (the sale's counters,
its claims and buyer counts): marketing never reads orders. Profit (GMV minus
the cost snapshot taken at each claim) only for those who may see costs."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from kameng.admin_pages import render_page, staff_page
from kameng.navigation import Page, register_page
from marketing.flash_admin import sale_state
from marketing.models import FlashSale, FlashSaleBuyer, FlashSaleClaim

VIEW = "marketing.view_flashsale"
COST = "catalog.view_cost"
REFRESH_SECONDS = 3
RESULTS_BUYERS_SHOWN = 200

register_page(
    Page(
        app_label="marketing",
        title=pgettext_lazy("flash sale", "Flash sales live"),
        url_name="marketing:flash_sales_live",
        permission=VIEW,
        icon="bolt",
    )
)


def sale_figures(sale: FlashSale, *, may_see_cost: bool) -> dict:
    """What the live and results pages show: the sale's row, two small counts
    (bounded by its units on sale)."""
    figures = {
        "sold": sale.sold,
        "remaining": sale.remaining,
        "cap": sale.quantity_cap,
        "share": round(sale.sold * 100 / sale.quantity_cap) if sale.quantity_cap else 0,
        "gmv": sale.gmv,
        "buyers": FlashSaleBuyer.objects.filter(sale=sale, bought__gt=0).count(),
        "orders": FlashSaleClaim.objects.filter(
            sale=sale, released_at__isnull=True
        ).count(),
        "released": FlashSaleClaim.objects.filter(
            sale=sale, released_at__isnull=False
        ).count(),
        "state": sale_state(sale),
    }
    if may_see_cost:
        figures["cost"] = sale.cost
        figures["profit"] = sale.profit
    return figures


@staff_page(VIEW)
def flash_sales_live(request):
    now = timezone.now()
    live = FlashSale.objects.filter(starts_at__lte=now, ends_at__gt=now)
    upcoming = FlashSale.objects.filter(starts_at__gt=now).order_by("starts_at")
    ended = FlashSale.objects.filter(ends_at__lte=now).order_by("-ends_at")
    related = ("sku__product",)
    return render_page(
        request,
        "marketing/flash_sales_live.html",
        {
            "live": live.select_related(*related)[:50],
            "upcoming": upcoming.select_related(*related)[:20],
            "ended": ended.select_related(*related)[:20],
            "page_id": "flash-sales",
        },
        title=pgettext_lazy("flash sale", "Flash sales live"),
    )


def _context(request, pk: int) -> dict:
    sale = get_object_or_404(FlashSale.objects.select_related("sku__product"), pk=pk)
    may_see_cost = request.user.has_perm(COST)
    return {
        "sale": sale,
        "figures": sale_figures(sale, may_see_cost=may_see_cost),
        "may_see_cost": may_see_cost,
        "refresh_seconds": REFRESH_SECONDS,
        "now": timezone.now(),
    }


@staff_page(VIEW)
def flash_sale_live(request, pk: int):
    context = _context(request, pk)
    return render_page(
        request,
        "marketing/flash_sale_live.html",
        {**context, "page_id": "flash-sale-live"},
        title=_("Flash sale live: %(sale)s") % {"sale": context["sale"]},
    )


@staff_page(VIEW)
def flash_sale_figures(request, pk: int):
    """The figures fragment the live page polls."""
    return render(
        request,
        "marketing/_flash_sale_figures.html",
        {**_context(request, pk), "poll": True},
    )


@staff_page(VIEW)
def flash_sale_results(request, pk: int):
    context = _context(request, pk)
    buyers = (
        FlashSaleBuyer.objects.filter(sale=context["sale"], bought__gt=0)
        .select_related("buyer")
        .order_by("-bought", "buyer_id")[:RESULTS_BUYERS_SHOWN]
    )
    return render_page(
        request,
        "marketing/flash_sale_results.html",
        {
            **context,
            "buyers": buyers,
            "shown": RESULTS_BUYERS_SHOWN,
            "page_id": "flash-sale-results",
        },
        title=_("Flash sale results: %(sale)s") % {"sale": context["sale"]},
    )
