"""Orders in the back office: read-only rows, a timeline, and the few actions
staff take, each through a service (refund to wallet, manual delivery)."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display

from kameng.admin_pages import ReadOnlyMixin
from kameng.exceptions import DomainError
from orders.models import Fulfilment, Order, OrderEvent, Ticket, TicketMessage
from orders.payments.admin import register as register_payment_admin
from orders.refunds import refund_to_wallet


class OrderEventInline(TabularInline):
    model = OrderEvent
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("timeline")

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Order)
class OrderAdmin(ModelAdmin):
    list_display = (
        "order_no",
        "buyer_or_contact",
        "sku",
        "quantity",
        "amount",
        "status",
        "flag",
        "created_at",
    )
    list_filter = ("status", "flag", "payment_method", "sku__delivery_type")
    list_select_related = ("buyer", "sku__product")
    # Exact order number or buyer name: indexed lookups, no LIKE over millions.
    search_fields = ("=order_no", "=buyer__username", "=contact")
    show_full_result_count = False
    date_hierarchy = None
    inlines = [OrderEventInline]
    actions = ["refund_in_full"]
    fields = (
        "order_no",
        "status",
        "flag",
        "buyer",
        "contact",
        "sku",
        "quantity",
        "unit_price",
        "amount",
        "refunded_amount",
        "payment_method",
        "price_breakdown",
        "recharge_account",
        "delivery_summary",
        "created_at",
        "paid_at",
        "delivered_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_refund_permission(self, request):
        return request.user.has_perm("orders.refund_order")

    @display(description=_("buyer"))
    def buyer_or_contact(self, order):
        return order.buyer or order.contact

    @display(description=_("delivery"))
    def delivery_summary(self, order):
        if "code_ids" in order.delivery:
            return ngettext(
                "%(count)d card code",
                "%(count)d card codes",
                len(order.delivery["code_ids"]),
            ) % {"count": len(order.delivery["code_ids"])}
        if "note" in order.delivery:
            return order.delivery["note"]
        if order.status == Order.Status.PAID and order.sku.delivery_type == "manual":
            url = reverse("orders:deliver", args=[order.pk])
            return format_html(
                '<a class="underline" href="{}">{}</a>', url, _("Deliver")
            )
        return "—"

    @action(description=_("Refund to wallet in full"), permissions=["refund"])
    def refund_in_full(self, request, queryset):
        done = 0
        for order in queryset[:100]:
            try:
                refund_to_wallet(
                    order=order, actor=request.user, reason=str(_("Refunded by staff"))
                )
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{order.order_no}: {exc}", messages.ERROR)
        if done:
            self.message_user(
                request,
                ngettext("%(n)d order refunded.", "%(n)d orders refunded.", done)
                % {"n": done},
                messages.SUCCESS,
            )


class TicketMessageInline(TabularInline):
    model = TicketMessage
    fields = ("created_at", "author", "body")
    readonly_fields = ("created_at", "author")
    extra = 1
    can_delete = False  # the conversation is a record: messages are only added

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(ModelAdmin):
    list_display = ("id", "subject", "kind", "status", "order", "created_at")
    list_filter = ("status", "kind")
    list_select_related = ("order",)
    search_fields = ("=id", "=order__order_no", "subject")
    show_full_result_count = False
    readonly_fields = ("order", "created_at", "updated_at")
    inlines = [TicketMessageInline]

    def save_formset(self, request, form, formset, change):
        messages_ = formset.save(commit=False)
        for message in messages_:
            message.author = request.user
            message.save()
        formset.save_m2m()


@admin.register(Fulfilment)
class FulfilmentAdmin(ReadOnlyMixin, ModelAdmin):
    """Top-ups at suppliers: what is waiting, retrying or stuck (read-only)."""

    list_display = (
        "order",
        "state",
        "offer",
        "attempts",
        "next_attempt_at",
        "trade_no",
        "last_error",
    )
    list_filter = ("state",)
    list_select_related = ("order", "offer__supplier")
    search_fields = ("=order__order_no", "=trade_no")
    show_full_result_count = False
    readonly_fields = (
        "order",
        "state",
        "offer",
        "tried_offers",
        "attempts",
        "next_attempt_at",
        "trade_no",
        "last_error",
        "created_at",
        "updated_at",
    )


register_payment_admin()
