"""Gateway payments in the back office: read-only, searchable by exact trade or
order number, filtered by outcome (the finance page lists what needs review).

Not registered on import: orders/admin.py calls `register()` (tests check the
classes on a private AdminSite without touching the real one)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.decorators import display

from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin
from orders.models import Payment, PaymentAttempt, WalletTopUp


class PaymentAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = (
        "created_at",
        "order",
        "topup",
        "channel",
        "trade_no",
        "amount",
        "outcome",
        "note",
    )
    list_filter = ("outcome", "channel")
    list_select_related = ("order", "topup")
    search_fields = ("=trade_no", "=order__order_no", "=topup__topup_no")
    show_full_result_count = False
    fields = (
        "order",
        "topup",
        "channel",
        "trade_no",
        "amount",
        "outcome",
        "note",
        "raw_notify",
        "created_at",
    )
    readonly_fields = fields


class PaymentAttemptAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = ("created_at", "order", "channel", "order_status", "check_result")
    list_filter = ("check_result", "channel")
    list_select_related = ("order",)
    search_fields = ("=order__order_no",)
    show_full_result_count = False
    fields = (
        "order",
        "channel",
        "created_at",
        "checked_at",
        "check_result",
        "check_note",
    )
    readonly_fields = fields

    @display(description=_("order status"))
    def order_status(self, attempt):
        return attempt.order.get_status_display()


class WalletTopUpAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = (
        "topup_no",
        "created_at",
        "buyer",
        "amount",
        "channel",
        "status",
        "paid_at",
        "check_result",
    )
    list_filter = ("status", "channel", "check_result")
    list_select_related = ("buyer",)
    search_fields = ("=topup_no", "=buyer__username")
    show_full_result_count = False
    fields = (
        "topup_no",
        "buyer",
        "amount",
        "channel",
        "status",
        "created_at",
        "paid_at",
        "checked_at",
        "check_result",
        "check_note",
    )
    readonly_fields = (*fields, "refund_link")

    def get_fields(self, request, obj=None):
        """Finance (users.adjust_wallet) also sees the way to refund it."""
        fields = super().get_fields(request, obj)
        if request.user.has_perm("users.adjust_wallet"):
            return (*fields, "refund_link")
        return fields

    @display(description=_("refund"))
    def refund_link(self, topup):
        """A paid top-up is refunded on its own page (orders.views)."""
        if topup.status != WalletTopUp.Status.PAID:
            return "—"
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a>',
            reverse("orders:refund_topup", args=[topup.pk]),
            _("Refund the top-up"),
        )


def register(site: admin.AdminSite = admin.site) -> None:
    for model, model_admin in (
        (Payment, PaymentAdmin),
        (PaymentAttempt, PaymentAttemptAdmin),
        (WalletTopUp, WalletTopUpAdmin),
    ):
        if not site.is_registered(model):
            site.register(model, model_admin)
