"""Audit trails of the catalog: read-only in the back office."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.decorators import display

from catalog.models import CodeReveal
from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin


@admin.register(CodeReveal)
class CodeRevealAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = ("created_at", "actor", "code", "code_sku", "reason", "ip_address")
    list_select_related = ("actor", "code__sku__product")
    list_filter = ("created_at",)
    search_fields = ("actor__username", "code__sku__code", "reason")
    show_full_result_count = False
    date_hierarchy = "created_at"

    @display(description=_("SKU"), ordering="code__sku__code")
    def code_sku(self, reveal):
        return reveal.code.sku
