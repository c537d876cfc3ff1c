"""Orders in the back office: read-only rows, a timeline, and the few actions
staff take, each through a service (refund to wallet, manual delivery)."""

from django.contrib import admin
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import TabularInline
from unfold.decorators import display

from catalog.admin.pricing import can_see_cost
from catalog.admin.suppliers import call_detail_text
from catalog.models import SupplierCall
from catalog.services.pricing import LAYER_LABELS
from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin
from kameng.client_address import client_ip
from kameng.contact_search import ContactSearchMixin
from kameng.templatetags.kameng import cny
from orders.aftersales import (
    assign_ticket,
    can_work_ticket,
    handles_order,
    staff_message_added,
    ticket_sla,
    tickets_for_staff,
)
from orders.models import (
    Fulfilment,
    Order,
    OrderEvent,
    OrderNote,
    RefundRequest,
    Ticket,
    TicketMessage,
)
from orders.payments.admin import register as register_payment_admin
from orders.payments.registry import GATEWAYS
from orders.refunds import APPROVE_PERMISSION, REFUND_PERMISSION
from orders.risk_admin import register as register_risk_admin
from orders.support_admin import register as register_support_admin
from orders.workbench_admin import WorkbenchOrderPanels
from users.contacts import contacts_for_page, masked, order_contacts

# Reasons services write as short codes; what a person reads instead.
MACHINE_REASONS = {
    "wallet": _("Paid with wallet balance"),
    "card codes": _("Card codes handed over"),
    "supplier": _("Sent to the supplier for top-up"),
    "demo": _("Demo data"),
}


def readable_reason(reason: str) -> str:
    """An OrderEvent reason as words: "wallet" → 余额支付, "sandbox T1" → 通过沙箱
    支付付款，交易号 T1; free text (staff notes, translated messages) unchanged."""
    if reason in MACHINE_REASONS:
        return str(MACHINE_REASONS[reason])
    channel, _space, trade_no = reason.partition(" ")
    if channel in GATEWAYS and trade_no and " " not in trade_no:
        return gettext("Paid through %(channel)s, trade number %(trade_no)s") % {
            "channel": GATEWAYS[channel].label,
            "trade_no": trade_no,
        }
    return reason


def person_name(user) -> str:
    """Who did it: a staff member's full name (or username), else the system."""
    if user is None:
        return gettext("the system")
    return user.get_full_name() or user.get_username()


def contacts_html(shown) -> str:
    """A page's contacts (users.contacts.ShownContacts): one line each, and
    under masked ones why they are masked."""
    return render_to_string("orders/_contacts.html", {"shown": shown})


def profile_link(buyer_id: int) -> str:
    """One click to the buyer's customer profile (orders/profile.py)."""
    return format_html(
        '<a class="text-primary-600" href="{}" data-testid="buyer-profile">{}</a>',
        reverse("customers:buyer_profile", args=[buyer_id]),
        gettext("Open profile"),
    )


def ticket_buyer_id(ticket) -> int | None:
    """The buyer a ticket is about: who opened it, else the order's buyer."""
    if ticket.buyer_id:
        return ticket.buyer_id
    return ticket.order.buyer_id if ticket.order_id else None


def table(headers, rows) -> str:
    """A small read-only table in the admin's style (values are escaped)."""
    head = format_html_join(
        "", '<th class="px-2 py-1 text-left">{}</th>', ((h,) for h in headers)
    )
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        (
            (
                format_html_join(
                    "", '<td class="px-2 py-1">{}</td>', ((c,) for c in row)
                ),
            )
            for row in rows
        ),
    )
    return format_html(
        '<table class="border border-base-200 dark:border-base-800">'
        "<thead><tr>{}</tr></thead><tbody>{}</tbody></table>",
        head,
        body,
    )


class OrderEventInline(ReadOnlyMixin, TabularInline):
    model = OrderEvent
    fields = ("created_at", "from_state", "to_state", "actor_name", "why")
    readonly_fields = fields
    extra = 0
    hide_title = True  # the row says it all; the title would be the raw codes
    verbose_name_plural = _("timeline")

    @display(description=_("from"))
    def from_state(self, event):
        return event.get_from_status_display() or "—"

    @display(description=_("to"))
    def to_state(self, event):
        return event.get_to_status_display()

    @display(description=_("by"))
    def actor_name(self, event):
        return person_name(event.actor)

    @display(description=_("reason"))
    def why(self, event):
        return readable_reason(event.reason) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Order)
class OrderAdmin(ContactSearchMixin, WorkbenchOrderPanels, ModelAdmin):
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
    search_fields = ("=order_no", "=buyer__username")
    # Encrypted (kameng.fields): exact match through their blind indexes.
    contact_search_fields = ("contact", "buyer__phone", "buyer__email")
    show_full_result_count = False
    date_hierarchy = None
    inlines = [OrderEventInline]
    fields = (
        "order_no",
        "status",
        "flag",
        "buyer",
        "full_contacts",  # in full on the order's page, audited (users.contacts)
        "sku",
        "quantity",
        "unit_price",
        "amount",
        "refunded_amount",
        "payment_method",
        "price_layers",
        "recharge_account_rows",
        "delivery_summary",
        "created_at",
        "paid_at",
        "delivered_at",
        "notes_panel",
        "refunds_panel",
        "tickets_panel",
    )
    readonly_fields = fields

    def get_fields(self, request, obj=None):
        """Support answers buyers from this page: the top-up at the supplier and
        every call made for it, for whoever may view them."""
        fields = list(self.fields)
        if (
            obj is not None
            and obj.buyer_id
            and request.user.has_perm("users.view_buyer")
        ):
            fields.insert(fields.index("buyer") + 1, "buyer_profile")
        if request.user.has_perm("orders.view_fulfilment"):
            fields.append("fulfilment_summary")
            if can_see_cost(request):
                fields.append("supplier_cost")
        if request.user.has_perm("catalog.view_suppliercall"):
            fields.append("supplier_calls")
        if request.user.has_perm("orders.add_ordernote"):
            fields.insert(fields.index("notes_panel") + 1, "add_note_link")
        if request.user.has_perm(REFUND_PERMISSION) or request.user.has_perm(
            APPROVE_PERMISSION
        ):
            fields.insert(fields.index("refunds_panel") + 1, "refund_actions")
        return fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @display(description=_("buyer"))
    def buyer_or_contact(self, order):
        return order.buyer or masked(order.contact)

    @display(description=_("contact"))
    def full_contacts(self, order):
        """In full for whoever handles the order (or finance), else masked with
        the reason: decided once per page in render_change_form."""
        shown = getattr(order, "shown_contacts", None)
        return contacts_html(shown) if shown is not None else "—"

    def render_change_form(
        self, request, context, add=False, change=False, form_url="", obj=None
    ):
        """Who sees the order's contacts in full, and the audit row when they do
        (users.contacts.contacts_for_page)."""
        if obj is not None:
            obj.shown_contacts = contacts_for_page(
                actor=request.user,
                contacts=order_contacts(obj),
                obj=obj,
                handles=handles_order(request.user, obj),
                ip=client_ip(request),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @display(description=_("customer profile"))
    def buyer_profile(self, order):
        return profile_link(order.buyer_id)

    @display(description=_("price breakdown"))
    def price_layers(self, order):
        breakdown = order.price_breakdown or {}
        rows = [
            (
                LAYER_LABELS.get(layer.get("code")) or layer.get("label") or "—",
                # an order-level layer (coupon, points) takes an amount off
                "−" + cny(layer["amount_off"])
                if layer.get("amount_off")
                else cny(layer.get("unit_price")),
                layer.get("note") or "",
            )
            for layer in breakdown.get("layers", [])
        ]
        if not rows:
            return "—"
        rows.append(
            (
                (
                    gettext("Total (%(quantity)s × %(unit)s, less discounts)")
                    if any(layer.get("amount_off") for layer in breakdown["layers"])
                    else gettext("Total (%(quantity)s × %(unit)s)")
                )
                % {"quantity": order.quantity, "unit": cny(order.unit_price)},
                cny(order.amount),
                "",
            )
        )
        return table((_("price layer"), _("unit price"), _("note")), rows)

    @display(description=_("recharge account"))
    def recharge_account_rows(self, order):
        if not order.recharge_account:
            return "—"
        labels = {
            field.get("key"): field.get("label")
            for field in order.sku.recharge_fields or []
            if isinstance(field, dict)
        }
        return table(
            (_("field"), _("value")),
            (
                (labels.get(key) or key, value)
                for key, value in order.recharge_account.items()
            ),
        )

    @display(description=_("top-up at the supplier"))
    def fulfilment_summary(self, order):
        job = Fulfilment.objects.filter(order=order).select_related("offer__supplier")
        job = job.first()
        if job is None:
            return "—"
        headers = [_("state"), _("supplier"), _("attempts"), _("supplier trade number")]
        row = [
            job.get_state_display(),
            job.offer.supplier.name if job.offer else "—",
            job.attempts,
            job.trade_no or "—",
        ]
        headers.append(_("last error"))
        row.append(job.last_error or "—")
        return table(headers, [row])

    @display(description=_("supplier cost"))
    def supplier_cost(self, order):
        job = Fulfilment.objects.filter(order=order).select_related("offer").first()
        if job is None or job.offer is None:
            return "—"
        return cny(job.offer.cost)

    @display(description=_("supplier calls"))
    def supplier_calls(self, order):
        calls = SupplierCall.objects.filter(order_no=order.order_no).select_related(
            "supplier"
        )
        rows = [
            (
                call.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                call.supplier.name,
                call.get_operation_display(),
                call.get_outcome_display(),
                call.latency_ms,
                call_detail_text(call.detail) or "—",
            )
            for call in calls.order_by("id")[:50]
        ]
        if not rows:
            return "—"
        return table(
            (
                _("at"),
                _("supplier"),
                _("operation"),
                _("outcome"),
                _("latency (ms)"),
                _("detail"),
            ),
            rows,
        )

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
        if order.delivery.get("trade_no"):
            return gettext("Topped up, supplier trade number %(trade_no)s") % {
                "trade_no": order.delivery["trade_no"]
            }
        if order.status == Order.Status.PAID and order.sku.delivery_type == "manual":
            url = reverse("orders:deliver", args=[order.pk])
            return format_html(
                '<a class="underline" href="{}">{}</a>', url, _("Deliver")
            )
        if order.status in (Order.Status.PAID, Order.Status.DELIVERING) and (
            order.sku.delivery_type == "topup"
        ):
            url = reverse("orders:resolve_topup", args=[order.pk])
            return format_html(
                '<a class="underline" href="{}">{}</a>', url, _("Resolve stuck top-up")
            )
        return "—"

    @display(description=_("notes"))
    def notes_panel(self, order):
        """Staff notes, internal or shown to the buyer."""
        rows = [
            (
                note.created_at.strftime("%Y-%m-%d %H:%M"),
                person_name(note.author),
                gettext("Visible to the buyer")
                if note.visible_to_buyer
                else gettext("Internal"),
                note.body,
            )
            for note in order.notes.select_related("author")
        ]
        if not rows:
            return "—"
        return table((_("at"), _("by"), _("who sees it"), _("note")), rows)

    @display(description=_("add a note"))
    def add_note_link(self, order):
        return format_html(
            '<a class="underline" href="{}" data-testid="add-note">{}</a>',
            reverse("orders:add_note", args=[order.pk]),
            _("Add a note"),
        )

    @display(description=_("refunds"))
    def refunds_panel(self, order):
        """Every refund of this order: amount, reason, who asked, where it stands."""
        rows = [
            (
                refund.created_at.strftime("%Y-%m-%d %H:%M"),
                cny(refund.amount),
                refund.reason,
                person_name(refund.requested_by),
                refund.get_status_display(),
            )
            for refund in order.refunds.select_related("requested_by")
        ]
        if not rows:
            return "—"
        return table(
            (_("at"), _("amount"), _("reason"), _("requested by"), _("status")), rows
        )

    @display(description=_("refund actions"))
    def refund_actions(self, order):
        """Finance: the refund page, and each refund waiting for a decision."""
        links = [
            (
                reverse("orders:decide_refund", args=[refund.pk]),
                "decide-refund",
                gettext("Decide on the refund of %(amount)s")
                % {"amount": cny(refund.amount)},
            )
            for refund in order.refunds.filter(status=RefundRequest.Status.PENDING)
        ]
        if order.refunded_amount < order.amount:
            links.insert(
                0,
                (
                    reverse("orders:refund", args=[order.pk]),
                    "refund-link",
                    gettext("Refund…"),
                ),
            )
        if not links:
            return "—"
        return format_html_join(
            " · ", '<a class="underline" href="{}" data-testid="{}">{}</a>', links
        )

    @display(description=_("tickets"))
    def tickets_panel(self, order):
        rows = [
            (
                format_html(
                    '<a class="underline" href="{}">#{}</a>',
                    reverse("admin:orders_ticket_change", args=[ticket.pk]),
                    ticket.pk,
                ),
                ticket.get_kind_display(),
                ticket.get_status_display(),
                ticket.created_at.strftime("%Y-%m-%d %H:%M"),
            )
            for ticket in order.tickets.all()[:20]
        ]
        if not rows:
            return "—"
        return table((_("ticket"), _("type"), _("status"), _("created at")), rows)


class TicketMessageInline(TabularInline):
    model = TicketMessage
    fields = ("created_at", "author", "body", "internal", "attachment_link")
    readonly_fields = ("created_at", "author", "attachment_link")
    extra = 0
    can_delete = False  # the conversation is a record: messages are only added

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and (
            obj is None or can_work_ticket(request.user, obj)
        )

    @display(description=_("image"))
    def attachment_link(self, message):
        if not message.attachment:
            return "—"
        return format_html(
            '<a class="underline" href="{}" target="_blank" rel="noopener">{}</a>',
            reverse("orders:ticket_attachment", args=[message.pk]),
            _("Attached image"),
        )


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return (("mine", _("Mine")), ("nobody", _("Unassigned")))

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.filter(assignee=request.user)
        if self.value() == "nobody":
            return queryset.filter(assignee=None)
        return queryset


@admin.register(Ticket)
class TicketAdmin(ModelAdmin):
    list_display = (
        "id",
        "subject",
        "kind",
        "status",
        "sla_state",
        "buyer",
        "assignee",
        "order",
        "created_at",
    )
    list_filter = (AssigneeFilter, "status", "kind")
    list_select_related = ("order", "buyer", "assignee")
    search_fields = ("=id", "=order__order_no", "subject")
    show_full_result_count = False
    raw_id_fields = ("order",)
    inlines = [TicketMessageInline]

    def get_queryset(self, request):
        """Agents see the unassigned queue and their own tickets; leads all."""
        return tickets_for_staff(request.user).select_related(
            "order", "buyer", "assignee"
        )

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or can_work_ticket(request.user, obj))

    def save_model(self, request, obj, form, change):
        """The assignee goes through assign_ticket, which grants the object
        permission to work the ticket."""
        assignee = form.cleaned_data.get("assignee")
        if change:
            obj.assignee = Ticket.objects.get(pk=obj.pk).assignee
        else:
            obj.assignee = None
        super().save_model(request, obj, form, change)
        if not change or "assignee" in form.changed_data:
            assign_ticket(ticket=obj, assignee=assignee, actor=request.user)
            obj.refresh_from_db()

    def get_fields(self, request, obj=None):
        if obj is None:  # staff open a ticket: what about, and who takes it
            return ("kind", "order", "subject", "assignee")
        fields = (
            "subject",
            "kind",
            "status",
            "order",
            "buyer",
            "assignee",
            "priority",
            "created_at",
            "first_response_at",
            "resolved_at",
            "sla_state",
        )
        if request.user.has_perm("orders.change_ticket"):
            fields = (*fields, "reply_link")  # the page that answers and moves it
        if ticket_buyer_id(obj) and request.user.has_perm("users.view_buyer"):
            fields = (*fields, "buyer_profile")
        return fields

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "kind",
            "status",
            "order",
            "buyer",
            "priority",
            "created_at",
            "first_response_at",
            "resolved_at",
            "sla_state",
            "reply_link",
            "buyer_profile",
        )

    @display(description=_("customer profile"))
    def buyer_profile(self, ticket):
        return profile_link(ticket_buyer_id(ticket))

    @display(description=_("service level"))
    def sla_state(self, ticket):
        if ticket.status in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED):
            if ticket_sla(ticket).overdue:
                return gettext("Resolved late")
            return gettext("Met")
        if ticket_sla(ticket).overdue:
            return format_html(
                '<span class="text-red-600 font-semibold" data-testid="overdue">'
                "{}</span>",
                _("Overdue"),
            )
        return gettext("On time")

    @display(description=_("reply"))
    def reply_link(self, ticket):
        return format_html(
            '<a class="underline" href="{}" data-testid="reply-link">{}</a>',
            reverse("orders:ticket_reply", args=[ticket.pk]),
            _("Reply and set status"),
        )

    def save_formset(self, request, form, formset, change):
        messages_ = formset.save(commit=False)
        for message in messages_:
            message.author = request.user
            message.save()
            staff_message_added(ticket=form.instance, message=message)
        formset.save_m2m()


@admin.register(RefundRequest)
class RefundRequestAdmin(ReadOnlyMixin, ModelAdmin):
    """Every refund: what finance approves and what the system gave back."""

    list_display = (
        "order",
        "amount",
        "reason",
        "status",
        "requested_by",
        "decided_by",
        "created_at",
    )
    list_filter = ("status",)
    list_select_related = ("order", "requested_by", "decided_by")
    search_fields = ("=order__order_no",)
    show_full_result_count = False
    fields = (
        "order",
        "amount",
        "reason",
        "void_codes",
        "status",
        "requested_by",
        "decided_by",
        "decision_note",
        "gateway_refund_no",
        "created_at",
        "decided_at",
    )
    readonly_fields = fields

    def get_list_display(self, request):
        """Approvers get a link to decide each refund waiting for them."""
        if request.user.has_perm(APPROVE_PERMISSION):
            return (*self.list_display, "decide_link")
        return self.list_display

    @display(description=_("decision"))
    def decide_link(self, refund):
        if refund.status != RefundRequest.Status.PENDING:
            return "—"
        return format_html(
            '<a class="underline" href="{}" data-testid="decide-refund">{}</a>',
            reverse("orders:decide_refund", args=[refund.pk]),
            _("Approve or reject"),
        )


@admin.register(OrderNote)
class OrderNoteAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = ("order", "author", "visible_to_buyer", "body", "created_at")
    list_filter = ("visible_to_buyer",)
    list_select_related = ("order", "author")
    search_fields = ("=order__order_no",)
    show_full_result_count = False


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
register_risk_admin()
register_support_admin()
