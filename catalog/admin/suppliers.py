"""Admin for catalog suppliers: suppliers with their offers and health, the sandbox
supplier's knobs and orders, and the read-only call log."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import TabularInline
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminPasswordWidget

from catalog.admin.products import CostHidingMixin
from catalog.models import (
    SandboxOrder,
    SandboxProfile,
    Supplier,
    SupplierCall,
    SupplierOffer,
)
from catalog.selectors.health import supplier_health
from catalog.services.suppliers import (
    MIN_SIGNING_KEY_LENGTH,
    delete_offer,
    reset_breaker,
    save_offer,
    set_signing_key,
)
from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin

SANDBOX_PATH = "/sandbox/supplier"
BREAKER_COLOURS = {
    Supplier.Breaker.CLOSED: "success",
    Supplier.Breaker.HALF_OPEN: "warning",
    Supplier.Breaker.OPEN: "danger",
}
OUTCOME_COLOURS = {
    SupplierCall.Outcome.SUCCESS: "success",
    SupplierCall.Outcome.PROCESSING: "info",
    SupplierCall.Outcome.FAILED: "warning",
    SupplierCall.Outcome.TIMEOUT: "danger",
    SupplierCall.Outcome.ERROR: "danger",
    SupplierCall.Outcome.BAD_RESPONSE: "danger",
    SupplierCall.Outcome.REJECTED: "danger",
}


class SupplierForm(forms.ModelForm):
    """The signing key is write-only: typed in, encrypted, never shown back."""

    # Declared here so the class itself asks for https when no scheme is typed.
    endpoint = forms.URLField(
        label=_("API endpoint"), max_length=300, assume_scheme="https"
    )
    signing_key = forms.CharField(
        label=_("signing key"),
        required=False,
        strip=True,
        min_length=MIN_SIGNING_KEY_LENGTH,
        max_length=256,
        widget=UnfoldAdminPasswordWidget(
            render_value=False, attrs={"autocomplete": "new-password"}
        ),
    )

    class Meta:
        model = Supplier
        fields = (
            "name",
            "protocol",
            "endpoint",
            "merchant_id",
            "timeout_seconds",
            "is_sandbox",
            "enabled",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["signing_key"]
        if self.instance.pk and self.instance.secret:
            field.help_text = gettext(
                "A key is on file (encrypted, never shown). Type a new one to "
                "replace it; leave empty to keep it."
            )
        else:
            field.help_text = gettext(
                "Shared HMAC key agreed with the supplier (at least %(min)s "
                "characters). Stored encrypted and never shown again."
            ) % {"min": MIN_SIGNING_KEY_LENGTH}

    def clean_signing_key(self):
        key = self.cleaned_data.get("signing_key", "")
        if not key and not (self.instance.pk and self.instance.secret):
            raise forms.ValidationError(gettext("A new supplier needs a signing key."))
        return key

    def clean(self):
        cleaned = super().clean()
        endpoint = cleaned.get("endpoint")
        if endpoint:
            at_sandbox = urlsplit(endpoint).path.rstrip("/").endswith(SANDBOX_PATH)
            if cleaned.get("is_sandbox") and not at_sandbox:
                self.add_error(
                    "endpoint",
                    gettext(
                        "A sandbox supplier must point at the built-in sandbox "
                        "(…%(path)s/)."
                    )
                    % {"path": SANDBOX_PATH},
                )
            elif at_sandbox and not cleaned.get("is_sandbox"):
                self.add_error(
                    "is_sandbox",
                    gettext("This endpoint is the built-in sandbox: tick sandbox."),
                )
        return cleaned

    def clean_timeout_seconds(self):
        value = self.cleaned_data["timeout_seconds"]
        if value is not None and not 0 < value <= 120:
            raise forms.ValidationError(
                gettext("The timeout must be more than 0 and at most 120 seconds.")
            )
        return value


class SupplierOfferInline(CostHidingMixin, TabularInline):
    model = SupplierOffer
    cost_fields = ("cost",)
    fields = ("sku", "supplier_sku", "cost", "priority", "enabled")
    autocomplete_fields = ("sku",)
    extra = 0

    def has_add_permission(self, request, obj=None):
        # A new offer needs a cost: only people who may see costs add offers.
        return self._can_see_cost(request) and super().has_add_permission(request, obj)


@admin.register(Supplier)
class SupplierAdmin(ModelAdmin):
    form = SupplierForm
    inlines = [SupplierOfferInline]
    list_display = (
        "name",
        "is_sandbox",
        "enabled",
        "breaker",
        "consecutive_failures",
        "success_rate",
        "p50",
        "p95",
    )
    list_filter = ("enabled", "is_sandbox", "breaker_state", "protocol")
    search_fields = ("name", "merchant_id")
    readonly_fields = (
        "breaker_state",
        "breaker_changed_at",
        "consecutive_failures",
    )
    actions = ["reset_circuit_breaker"]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "protocol",
                    "endpoint",
                    "merchant_id",
                    "signing_key",
                    "timeout_seconds",
                    "is_sandbox",
                    "enabled",
                )
            },
        ),
        (
            _("Circuit breaker"),
            {
                "fields": (
                    "breaker_state",
                    "breaker_changed_at",
                    "consecutive_failures",
                )
            },
        ),
    )

    def get_changelist(self, request, **kwargs):
        """Health of the page's suppliers in one go (two queries per page)."""
        base = super().get_changelist(request, **kwargs)

        class HealthChangeList(base):
            def get_results(self, request):
                super().get_results(request)
                rows = list(self.result_list)
                health = supplier_health(supplier_ids=[s.pk for s in rows])
                for supplier in rows:
                    supplier.health = health.get(supplier.pk)

        return HealthChangeList

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        key = form.cleaned_data.get("signing_key")
        if key:
            set_signing_key(supplier=obj, key=key)

    def save_formset(self, request, form, formset, change):
        if formset.model is not SupplierOffer:
            return super().save_formset(request, form, formset, change)
        # The offer services save the rows: they read the old cost first.
        formset.save(commit=False)
        for offer in formset.deleted_objects:
            delete_offer(offer=offer, actor=request.user)
        changed = [offer for offer, _fields in formset.changed_objects]
        for offer in [*formset.new_objects, *changed]:
            save_offer(offer=offer, actor=request.user)

    @display(
        description=_("circuit breaker"),
        ordering="breaker_state",
        label=BREAKER_COLOURS,
    )
    def breaker(self, obj):
        return obj.breaker_state, obj.get_breaker_state_display()

    def _health(self, obj):
        return getattr(obj, "health", None)

    @display(description=_("success rate"))
    def success_rate(self, obj):
        health = self._health(obj)
        if health is None or health.success_percent is None:
            return "—"
        return f"{health.success_percent}% ({health.calls})"

    @display(description=_("p50 latency (ms)"))
    def p50(self, obj):
        health = self._health(obj)
        return "—" if health is None or health.p50_ms is None else round(health.p50_ms)

    @display(description=_("p95 latency (ms)"))
    def p95(self, obj):
        health = self._health(obj)
        return "—" if health is None or health.p95_ms is None else round(health.p95_ms)

    @action(description=_("Reset circuit breaker"), permissions=["change"])
    def reset_circuit_breaker(self, request, queryset):
        count = 0
        for supplier in queryset:
            reset_breaker(supplier=supplier, actor=request.user)
            count += 1
        self.message_user(
            request,
            ngettext(
                "Circuit breaker reset for %(count)d supplier.",
                "Circuit breaker reset for %(count)d suppliers.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(SandboxProfile)
class SandboxProfileAdmin(ModelAdmin):
    list_display = (
        "merchant_id",
        "latency_ms",
        "failure_rate",
        "timeout_rate",
        "garbage_rate",
        "processing_then_callback",
        "callback_delay_ms",
        "duplicate_callbacks",
        "hang_seconds",
    )
    search_fields = ("merchant_id",)


@admin.register(SandboxOrder)
class SandboxOrderAdmin(ModelAdmin):
    list_display = (
        "order_no",
        "merchant_id",
        "supplier_sku",
        "quantity",
        "status",
        "trade_no",
        "created_at",
    )
    list_filter = ("status",)
    search_fields = ("=order_no", "=trade_no", "=merchant_id")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# Codes a supplier's answer may start with (kameng_v1 and our sandbox), in words.
REMOTE_CODES = {
    "supplier_error": _("Supplier error:"),
    "not_found": _("Order not found at the supplier:"),
}


def call_detail_text(detail: str) -> str:
    """A recorded call's detail for people: a leading protocol code in words."""
    code, _space, rest = detail.partition(" ")
    if code in REMOTE_CODES:
        return f"{REMOTE_CODES[code]} {rest}".strip()
    return detail


@admin.register(SupplierCall)
class SupplierCallAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = (
        "created_at",
        "supplier",
        "operation",
        "order_no",
        "outcome_label",
        "latency_ms",
        "http_status",
        "detail_text",
    )
    list_filter = ("operation", "outcome", "supplier")
    list_select_related = ("supplier",)
    search_fields = ("=order_no",)
    show_full_result_count = False
    list_per_page = 50

    @display(description=_("outcome"), ordering="outcome", label=OUTCOME_COLOURS)
    def outcome_label(self, obj):
        return obj.outcome, obj.get_outcome_display()

    @display(description=_("detail"))
    def detail_text(self, obj):
        return call_detail_text(obj.detail)
