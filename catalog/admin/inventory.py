"""Stock alerts in the back office: read-only, open ones first. Alerts are opened
and resolved by catalog.services.inventory.check_stock_alerts only."""

from django.contrib import admin

from catalog.models import StockAlert
from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin


@admin.register(StockAlert)
class StockAlertAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = (
        "sku",
        "kind",
        "status",
        "message",
        "auto_paused",
        "opened_at",
        "notified_at",
        "resolved_at",
    )
    list_filter = ("status", "kind", "auto_paused")
    list_select_related = ("sku__product",)
    search_fields = ("sku__code", "sku__name", "sku__product__name")
    show_full_result_count = False

    # "open" sorts before "resolved": open alerts first, newest first.
    ordering = ("status", "-opened_at", "-id")
