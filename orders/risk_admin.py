"""Back office of risk: the checkout blacklist (operations and finance manage
it; values are stored as orders.risk compares them). Registered by orders.admin
through `register()`."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from kameng.admin_base import ModelAdmin
from orders.models import BlacklistEntry
from orders.risk import normalise
from users.contacts import masked


class BlacklistEntryForm(forms.ModelForm):
    class Meta:
        model = BlacklistEntry
        fields = ("kind", "value", "reason", "active")

    def clean(self):
        """Store the value as the checkout compares it (trimmed, case-blind, an
        IP in its canonical form), before the unique check sees it."""
        data = super().clean()
        if data.get("kind") and data.get("value"):
            data["value"] = normalise(data["kind"], data["value"])
        return data


class BlacklistEntryAdmin(ModelAdmin):
    form = BlacklistEntryForm
    list_display = ("kind", "value", "reason", "active", "created_by", "created_at")
    list_filter = ("kind", "active")
    list_select_related = ("created_by",)
    search_fields = ("=value",)
    show_full_result_count = False
    readonly_fields = ("created_by", "created_at")

    def get_list_display(self, request):
        """Who may only look at the blacklist (support) sees contacts masked
        (users.contacts); those who manage it see the values they match."""
        if self.has_change_permission(request):
            return self.list_display
        return tuple("masked_value" if f == "value" else f for f in self.list_display)

    @admin.display(description=_("value"))
    def masked_value(self, entry):
        if entry.kind == BlacklistEntry.Kind.CONTACT:
            return masked(entry.value)
        return entry.value

    def save_model(self, request, obj, form, change):
        if obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


def register() -> None:
    admin.site.register(BlacklistEntry, BlacklistEntryAdmin)
