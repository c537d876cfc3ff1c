"""Back office of risk: the checkout blacklist (operations and finance manage
it; values are stored as orders.risk compares them, encrypted at rest). Registered
by orders.admin through `register()`."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kameng.admin_base import ModelAdmin
from kameng.client_address import client_ip
from kameng.contact_search import ContactSearchMixin
from orders.models import BlacklistEntry
from orders.risk import normalise
from users.contacts import OrderContacts, masked, record_view


class BlacklistEntryForm(forms.ModelForm):
    class Meta:
        model = BlacklistEntry
        fields = ("kind", "value", "reason", "active")

    def clean(self):
        """Store the value as the checkout compares it (a phone number's digits,
        an e-mail lower-cased, case-blind, an IP in its canonical form), and
        refuse one already blocked however it was typed: the unique (kind,
        value_index) constraint names a column the form does not have, so the
        form checks it here rather than the database answering with an error."""
        data = super().clean()
        kind, value = data.get("kind"), data.get("value")
        if kind and value:
            data["value"] = normalise(kind, value)
            if not data["value"]:
                self.add_error("value", _("Give the value to block."))
                return data
            taken = BlacklistEntry.objects.filter(
                kind=kind, value_index=BlacklistEntry.digest(kind, value)
            ).exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error(
                    "value",
                    _(
                        "This value is already on the blacklist; switch that "
                        "entry on again instead."
                    ),
                )
        return data


class BlacklistEntryAdmin(ContactSearchMixin, ModelAdmin):
    form = BlacklistEntryForm
    # A list masks contacts and recharge accounts to every role (users.contacts:
    # a list is where contacts would be harvested); the entry's page shows them.
    list_display = (
        "kind",
        "masked_value",
        "reason",
        "active",
        "created_by",
        "created_at",
    )
    list_filter = ("kind", "active")
    list_select_related = ("created_by",)
    search_fields = ("reason",)
    # Encrypted (kameng.fields): a whole value, however typed, by its digest.
    contact_search_fields = ("value",)
    sortable_by = ("kind", "reason", "active", "created_at")  # never a token
    show_full_result_count = False
    readonly_fields = ("created_by", "created_at")

    def contact_search_match(self, path, term):
        """The digest of the term as each kind stores it (a game ID is
        case-blind here, an IP canonical), one indexed IN."""
        digests = {BlacklistEntry.digest(kind, term) for kind in BlacklistEntry.Kind}
        digests.discard("")
        return Q(**{f"{path}_index__in": sorted(digests)}) if digests else Q(pk__in=[])

    def may_see_values(self, request, entry=None) -> bool:
        """Who manages the blacklist sees an entry's value on its page (one
        "contact.view" audit row for a contact or recharge account); who may
        only look at it (support) sees it masked there too."""
        return self.has_change_permission(request, entry)

    def render_change_form(
        self, request, context, add=False, change=False, form_url="", obj=None
    ):
        if (
            obj is not None
            and obj.kind in BlacklistEntry.CONTACT_KINDS
            and self.may_see_values(request, obj)
        ):
            record_view(
                actor=request.user,
                obj=obj,
                contacts=OrderContacts(contact=obj.value),
                ip=client_ip(request),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_fields(self, request, obj=None):
        fields = [f for f in super().get_fields(request, obj) if f != "masked_value"]
        if obj is None or self.may_see_values(request, obj):
            return fields
        return ["masked_value" if f == "value" else f for f in fields]

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and not self.may_see_values(request, obj):
            readonly += ("masked_value",)
        return readonly

    @admin.display(description=_("value"))
    def masked_value(self, entry):
        if entry.kind in BlacklistEntry.CONTACT_KINDS:
            return masked(entry.value)
        return entry.value

    def save_model(self, request, obj, form, change):
        if obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


def register() -> None:
    admin.site.register(BlacklistEntry, BlacklistEntryAdmin)
