"""Flash sales in the back office: the sale's form (validated by
marketing.flash_sales, saved through its service), links to the live and
results pages. Counters are read only: only claims move them."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

from kameng import audit
from kameng.admin_base import ModelAdmin, audit_key, states_before
from marketing.flash_sales import (
    FlashSaleInvalid,
    delete_flash_sale,
    save_flash_sale,
    validate_flash_sale,
)
from marketing.models import FlashSale


def sale_state(sale: FlashSale, now=None) -> str:
    now = now or timezone.now()
    if now < sale.starts_at:
        return pgettext("flash sale", "Upcoming")
    if now >= sale.ends_at:
        return pgettext("flash sale", "Ended")
    if sale.remaining <= 0:
        return pgettext("flash sale", "Sold out")
    return pgettext("flash sale", "Live")


class FlashSaleForm(forms.ModelForm):
    class Meta:
        model = FlashSale
        fields = (
            "sku",
            "title",
            "starts_at",
            "ends_at",
            "price",
            "quantity_cap",
            "per_buyer_cap",
        )

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        sale = self.instance
        for name in self.Meta.fields:
            setattr(sale, name, cleaned.get(name))
        try:
            validate_flash_sale(sale)
        except ValidationError as exc:
            for field, messages_ in exc.message_dict.items():
                for message in messages_:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned


@admin.register(FlashSale)
class FlashSaleAdmin(ModelAdmin):
    form = FlashSaleForm
    list_display = (
        "__str__",
        "sku",
        "starts_at",
        "ends_at",
        "price",
        "quantity_cap",
        "per_buyer_cap",
        "sold",
        "state",
        "pages",
    )
    list_select_related = ("sku__product",)
    list_filter = ("starts_at",)
    search_fields = ("title", "sku__code", "sku__name", "sku__product__name")
    autocomplete_fields = ("sku",)
    readonly_fields = ("sold", "state", "pages")
    show_full_result_count = False
    fieldsets = (
        (
            None,
            {
                "fields": ("sku", "title", "starts_at", "ends_at", "price"),
                "description": _(
                    "Times are Beijing time (Asia/Shanghai). While the sale is live, "
                    "logged-in buyers pay the flash price for this SKU until the units "
                    "on sale are gone; guests pay the normal price. Two sales of one "
                    "SKU cannot overlap. Coupons apply on top of the flash price."
                ),
            },
        ),
        (
            pgettext_lazy("flash sale", "Limits"),
            {"fields": ("quantity_cap", "per_buyer_cap")},
        ),
        (pgettext_lazy("flash sale", "So far"), {"fields": ("sold", "state", "pages")}),
    )

    @admin.display(description=_("state"))
    def state(self, sale):
        return sale_state(sale) if sale.pk else "—"

    @admin.display(description=pgettext_lazy("flash sale", "pages"))
    def pages(self, sale):
        if not sale.pk:
            return "—"
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a> · '
            '<a class="text-primary-600" href="{}">{}</a>',
            reverse("marketing:flash_sale_live", args=[sale.pk]),
            pgettext("flash sale", "Live page"),
            reverse("marketing:flash_sale_results", args=[sale.pk]),
            pgettext("flash sale", "Results"),
        )

    def save_model(self, request, obj, form, change):
        if change and audit_key(obj) not in states_before(request):
            stored = FlashSale.objects.filter(pk=obj.pk).first()
            if stored is not None:  # the audit row's "before" (AuditMixin)
                states_before(request)[audit_key(obj)] = audit.snapshot(stored)
        save_flash_sale(sale=obj, actor=request.user)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.sold:
            return False  # a sale with orders is ended, not deleted
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        try:
            delete_flash_sale(sale=obj)
        except FlashSaleInvalid as exc:
            messages.error(request, exc.message)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, through the service
        return actions
