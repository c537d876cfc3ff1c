"""Vouchers (兑换券) in the back office: batches (generated on the voucher
page, never through the admin's add form), each batch's vouchers (used or
not, by whom, for which order), and the audited Excel export."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin
from marketing.models import Voucher, VoucherBatch
from marketing.vouchers import batch_counts


@admin.register(VoucherBatch)
class VoucherBatchAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = (
        "id",
        "sku",
        "count",
        "valid_from",
        "valid_until",
        "note",
        "created_by",
        "created_at",
        "vouchers_link",
    )
    list_select_related = ("sku__product", "created_by")
    search_fields = ("=sku__code", "note")
    list_filter = ("valid_until",)
    show_full_result_count = False
    fields = (
        "sku",
        "count",
        "valid_from",
        "valid_until",
        "note",
        "created_by",
        "created_at",
        "exports",
        "used_unused",
        "vouchers_link",
        "export_link",
    )
    readonly_fields = fields

    @admin.display(description=_("vouchers"))
    def vouchers_link(self, batch):
        url = reverse("admin:marketing_voucher_changelist")
        return format_html(
            '<a href="{}?batch__id__exact={}">{}</a>', url, batch.pk, gettext("List")
        )

    @admin.display(description=_("used / unused"))
    def used_unused(self, batch):
        counts = batch_counts(batch=batch)
        return gettext("%(used)s used, %(unused)s unused") % counts

    @admin.display(description=_("export"))  # the page checks the permission
    def export_link(self, batch):
        url = reverse("marketing:voucher_export", args=[batch.pk])
        return format_html(
            '<a href="{}" data-testid="voucher-export">{}</a>',
            url,
            gettext("Export the codes to Excel (recorded)"),
        )


@admin.register(Voucher)
class VoucherAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = ("masked", "batch", "status", "used_by", "used_at", "order_no")
    list_select_related = ("batch", "used_by")
    list_filter = ("status",)
    search_fields = ("=order_no", "=used_by__username", "=tail")
    show_full_result_count = False
    fields = ("masked", "batch", "status", "used_by", "used_at", "order_no")
    readonly_fields = fields

    @admin.display(description=_("voucher code"))
    def masked(self, voucher):
        return f"****-****-****-{voucher.tail}"
