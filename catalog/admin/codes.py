"""Admin for card-code batches and codes.

Codes are listed by their masked hint only: nothing here decrypts (revealing one
is a separate, audited page). Codes are never added or edited by hand (imports
and sales do that), and batches are created by the import page, whose batch page
this list links to.
"""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.decorators import display

from catalog.models import CardBatch, CardCode, Sku
from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin
from kameng.parsing import parse_ascii_int


class CardSkuFilter(admin.SimpleListFilter):
    """SKUs delivered with codes (from the SKU table, never a scan of the codes)."""

    title = _("SKU")
    parameter_name = "sku"

    def lookups(self, request, model_admin):
        skus = Sku.objects.filter(delivery_type=Sku.DeliveryType.CARD).order_by("code")
        return [(str(sku.pk), sku.code) for sku in skus.only("pk", "code")]

    def queryset(self, request, queryset):
        sku_id = parse_ascii_int(self.value())
        if sku_id is not None:
            return queryset.filter(sku_id=sku_id)
        return queryset


@admin.register(CardBatch)
class CardBatchAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = (
        "id",
        "file_name",
        "sku",
        "status",
        "total_rows",
        "imported",
        "duplicates",
        "rejected",
        "voided",
        "created_by",
        "created_at",
        "batch_page",
    )
    list_display_links = None
    list_filter = ("status", "file_format")
    list_select_related = ("sku__product", "created_by")
    search_fields = ("file_name", "sku__code")
    date_hierarchy = "created_at"
    show_full_result_count = False
    exclude = ("errors",)

    @display(description=_("batch page"))
    def batch_page(self, obj):
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a>',
            reverse("catalog:import_batch", args=[obj.pk]),
            _("View batch"),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The batch page shows everything (progress, errors, void): go there.
        batch_id = parse_ascii_int(object_id)
        if batch_id is not None:
            return redirect("catalog:import_batch", pk=batch_id)
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(CardCode)
class CardCodeAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = (
        "id",
        "hint",
        "sku",
        "status",
        "batch_link",
        "order_ref",
        "created_at",
        "sold_at",
        "reveal_link",
    )
    list_filter = ("status", CardSkuFilter)
    list_select_related = ("sku__product",)
    search_fields = ("=order_ref",)
    search_help_text = _("Exact order number.")
    show_full_result_count = False
    list_per_page = 50
    # The encrypted text and its hash never appear, not even read-only.
    fields = (
        "hint",
        "sku",
        "batch",
        "status",
        "order_ref",
        "key_version",
        "created_at",
        "sold_at",
    )
    readonly_fields = fields

    @display(description=_("batch"), ordering="batch_id")
    def batch_link(self, obj):
        return format_html(
            '<a class="text-primary-600" href="{}">#{}</a>',
            reverse("catalog:import_batch", args=[obj.batch_id]),
            obj.batch_id,
        )

    @display(description=_("reveal"))
    def reveal_link(self, obj):
        # A link to the audited reveal page; this list never decrypts anything.
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a>',
            reverse("catalog:reveal_code", args=[obj.pk]),
            _("Reveal…"),
        )

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if not request.user.has_perm("catalog.reveal_cardcode"):
            columns.remove("reveal_link")
        return columns
