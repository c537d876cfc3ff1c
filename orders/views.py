"""Back-office pages of orders (inside the admin layout)."""

import uuid
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kameng.admin_pages import render_page, staff_page
from kameng.client_address import client_ip
from kameng.exceptions import DomainError
from kameng.navigation import Page, register_page
from kameng.permission_denied import MissingPermission
from kameng.templatetags.kameng import cny
from orders.aftersales import (
    TICKET_ALLOWED,
    add_order_note,
    assign_ticket,
    attachment_content_type,
    can_work_ticket,
    handles_ticket,
    ticket_sla,
    tickets_for_staff,
)
from orders.fulfilment import (
    deliver_manually,
    manual_delivery_refusal,
    resolve_stuck_topup,
)
from orders.models import Order, RefundRequest, Ticket, TicketMessage, WalletTopUp
from orders.payments.topup_refunds import PERMISSION as TOPUP_REFUND_PERMISSION
from orders.payments.topup_refunds import refund_topup
from orders.refunds import (
    APPROVE_PERMISSION,
    REFUND_PERMISSION,
    approval_threshold,
    approve_refund,
    delivered_code_ids,
    plan_refund,
    refundable_left,
    reject_refund,
    request_refund,
)
from orders.replies import active_replies, reply_on_ticket
from orders.risk import flag_for
from orders.selectors import manual_queue
from orders.support_views import reply_text, ticket_support_context
from users.contacts import (
    ShownContacts,
    buyer_contacts,
    contacts_for_page,
    order_contacts,
)
from users.wallet_bonus import wallet_split

QUEUE_PAGE_SIZE = 100
# Resolving a stuck top-up is a delivery decision (operations): its refund is
# the one the engine itself makes when no supplier delivered, not a discretionary
# refund.
RESOLVE_PERMISSION = "orders.deliver_order"

register_page(
    Page(
        app_label="orders",
        title=gettext_lazy("Manual delivery queue"),
        url_name="orders:manual_queue",
        permission="orders.deliver_order",
        icon="pending_actions",
    )
)


@staff_page("orders.deliver_order")
def queue(request):
    """What staff must hand over by hand: paid manual orders, oldest first."""
    orders = list(manual_queue()[: QUEUE_PAGE_SIZE + 1])
    return render_page(
        request,
        "orders/manual_queue.html",
        {
            "orders": orders[:QUEUE_PAGE_SIZE],
            "more": len(orders) > QUEUE_PAGE_SIZE,
            "page_size": QUEUE_PAGE_SIZE,
            "page_id": "manual-queue",
        },
        title=_("Manual delivery queue"),
    )


class DeliverForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("What was delivered"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        help_text=gettext_lazy("The buyer sees this text on the order page."),
    )


@staff_page("orders.deliver_order")
def deliver(request, pk: int):
    order = get_object_or_404(Order.objects.select_related("sku__product"), pk=pk)
    form = DeliverForm(request.POST or None)
    refusal = manual_delivery_refusal(order)
    if refusal:  # said before staff write anything; the service refuses too
        messages.error(request, refusal)
    elif request.method == "POST" and form.is_valid():
        try:
            deliver_manually(
                order=order, actor=request.user, note=form.cleaned_data["note"]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Order %(no)s delivered.") % {"no": order.order_no}
            )
            return redirect("admin:orders_order_change", order.pk)
    return render_page(
        request,
        "orders/deliver.html",
        {
            "order": order,
            "form": None if refusal else form,
            "page_id": "order-deliver",
        },
        title=_("Deliver order %(no)s") % {"no": order.order_no},
    )


class ResolveTopUpForm(forms.Form):
    CREDITED = "credited"
    NOT_CREDITED = "not_credited"

    outcome = forms.ChoiceField(
        label=gettext_lazy("What the supplier confirmed"),
        choices=[
            (
                CREDITED,
                gettext_lazy("The account was credited: mark the order delivered"),
            ),
            (
                NOT_CREDITED,
                gettext_lazy(
                    "Nothing was credited: fail the order and refund the buyer"
                ),
            ),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=gettext_lazy("How you confirmed it"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=300,
        help_text=gettext_lazy(
            "Who at the supplier said what, or where you saw it. It is kept in "
            "the order's timeline with your name."
        ),
    )


@staff_page(RESOLVE_PERMISSION)
def resolve_topup(request, pk: int):
    """Settle a top-up stuck at its suppliers, after checking with them."""
    order = get_object_or_404(
        Order.objects.select_related("sku__product", "fulfilment__offer__supplier"),
        pk=pk,
    )
    form = ResolveTopUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            resolve_stuck_topup(
                order=order,
                actor=request.user,
                credited=form.cleaned_data["outcome"] == ResolveTopUpForm.CREDITED,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Order %(no)s resolved.") % {"no": order.order_no}
            )
            return redirect("admin:orders_order_change", order.pk)
    return render_page(
        request,
        "orders/resolve_topup.html",
        {
            "order": order,
            "job": getattr(order, "fulfilment", None),
            "form": form,
            "page_id": "order-resolve-topup",
        },
        title=_("Resolve stuck top-up %(no)s") % {"no": order.order_no},
    )


# After-sales pages ------------------------------------------------------------

NOTE_PERMISSION = "orders.add_ordernote"
REPLY_PERMISSION = "orders.change_ticket"


class NoteForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Note"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
    )
    visible_to_buyer = forms.BooleanField(
        label=gettext_lazy("Show this note to the buyer on the shop's order page"),
        required=False,
    )


@staff_page(NOTE_PERMISSION)
def add_note(request, pk: int):
    order = get_object_or_404(Order.objects.select_related("sku__product"), pk=pk)
    form = NoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            add_order_note(
                order=order,
                author=request.user,
                body=form.cleaned_data["body"],
                visible_to_buyer=form.cleaned_data["visible_to_buyer"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Note added."))
            return redirect("admin:orders_order_change", order.pk)
    return render_page(
        request,
        "orders/add_note.html",
        {"order": order, "form": form, "page_id": "order-add-note"},
        title=_("Note on order %(no)s") % {"no": order.order_no},
    )


class RefundForm(forms.Form):
    key = forms.UUIDField(widget=forms.HiddenInput)
    amount = forms.DecimalField(
        label=gettext_lazy("Amount to refund"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("The buyer sees this reason on the order page."),
    )
    void_codes = forms.BooleanField(
        label=gettext_lazy(
            "I checked the delivered card codes and they are invalid: void them"
        ),
        required=False,
    )


@staff_page(REFUND_PERMISSION)
def refund(request, pk: int):
    """Ask amount and reason, show what the refund will do, then do it once."""
    order = get_object_or_404(
        Order.objects.select_related("sku__product", "buyer"), pk=pk
    )
    left = refundable_left(order)
    form = RefundForm(
        request.POST or None, initial={"key": uuid.uuid4(), "amount": left}
    )
    if not delivered_code_ids(order):
        del form.fields["void_codes"]
    plan = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if "confirm" not in request.POST:
                plan = plan_refund(
                    order=order,
                    amount=data["amount"],
                    void_codes=data.get("void_codes", False),
                )
            else:
                done = request_refund(
                    order=order,
                    amount=data["amount"],
                    reason=data["reason"],
                    actor=request.user,
                    key=data["key"],
                    void_codes=data.get("void_codes", False),
                )
                if done.status == RefundRequest.Status.PENDING:
                    messages.warning(
                        request,
                        _(
                            "Refund of %(amount)s is waiting for a second person "
                            "to approve it."
                        )
                        % {"amount": cny(done.amount)},
                    )
                elif order.buyer_id is None:  # a guest: back through the gateway
                    messages.success(
                        request,
                        _("%(amount)s goes back through the payment gateway.")
                        % {"amount": cny(done.amount)},
                    )
                else:
                    messages.success(
                        request,
                        _("%(amount)s refunded to the buyer's wallet.")
                        % {"amount": cny(done.amount)},
                    )
                return redirect("admin:orders_order_change", order.pk)
        except DomainError as exc:
            form.add_error(None, exc.message)
    return render_page(
        request,
        "orders/refund.html",
        {
            "order": order,
            "form": form,
            "plan": plan,
            "left": left,
            "threshold": approval_threshold(),
            "page_id": "order-refund",
        },
        title=_("Refund order %(no)s") % {"no": order.order_no},
    )


class DecideRefundForm(forms.Form):
    APPROVE = "approve"
    REJECT = "reject"

    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            (APPROVE, gettext_lazy("Approve: refund to the buyer's wallet now")),
            (REJECT, gettext_lazy("Reject: no money moves")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=gettext_lazy("Why (needed to reject)"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


@staff_page(APPROVE_PERMISSION)
def decide_refund(request, pk: int):
    """A second person approves or rejects a refund above the threshold."""
    refund_row = get_object_or_404(
        RefundRequest.objects.select_related(
            "order__sku__product", "order__buyer", "requested_by", "decided_by"
        ),
        pk=pk,
    )
    form = DecideRefundForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data["decision"] == DecideRefundForm.APPROVE:
                approve_refund(refund=refund_row, actor=request.user)
                messages.success(
                    request,
                    _("%(amount)s refunded to the buyer's wallet.")
                    % {"amount": cny(refund_row.amount)},
                )
            else:
                reject_refund(
                    refund=refund_row,
                    actor=request.user,
                    note=form.cleaned_data["note"],
                )
                messages.success(request, _("Refund rejected."))
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("admin:orders_order_change", refund_row.order_id)
    return render_page(
        request,
        "orders/decide_refund.html",
        {
            "refund": refund_row,
            "order": refund_row.order,
            "form": form if refund_row.status == RefundRequest.Status.PENDING else None,
            "own": refund_row.requested_by_id == request.user.pk,
            "page_id": "refund-decide",
        },
        title=_("Approve refund for order %(no)s") % {"no": refund_row.order.order_no},
    )


class StaffReplyForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    internal = forms.BooleanField(
        label=gettext_lazy("Internal remark (the buyer does not see it)"),
        required=False,
    )
    status = forms.ChoiceField(label=gettext_lazy("Then the ticket is"))
    # The canned reply the text started from (recorded for the suggestions).
    canned = forms.ModelChoiceField(
        queryset=active_replies(), required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, ticket, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = TICKET_ALLOWED[ticket.status] | {ticket.status}
        self.fields["status"].choices = [
            (value, label) for value, label in Ticket.Status.choices if value in allowed
        ]
        default = (
            Ticket.Status.IN_PROGRESS
            if ticket.status == Ticket.Status.OPEN
            else ticket.status
        )
        self.fields["status"].initial = default


def ticket_contacts(request, ticket: Ticket) -> ShownContacts:
    """The buyer's contacts on the ticket page: the order's (or, without an
    order, the buyer's own), in full to whoever handles the ticket and to
    finance, audited on the order (users.contacts)."""
    return contacts_for_page(
        actor=request.user,
        contacts=order_contacts(ticket.order)
        if ticket.order_id
        else buyer_contacts(ticket.buyer),
        obj=ticket.order if ticket.order_id else ticket,
        handles=handles_ticket(request.user, ticket),
        ip=client_ip(request),
        note=_("Ticket #%(id)s") % {"id": ticket.pk},
    )


@staff_page(REPLY_PERMISSION)
def ticket_reply(request, pk: int):
    ticket = get_object_or_404(
        tickets_for_staff(request.user).select_related(
            "order__sku__product", "buyer", "assignee"
        ),
        pk=pk,
    )
    can_work = can_work_ticket(request.user, ticket)
    text, canned = reply_text(request, ticket)
    form = StaffReplyForm(
        request.POST or None,
        ticket=ticket,
        initial={"body": text, "canned": canned.pk if canned else None},
    )
    if request.method == "POST" and not can_work:
        raise MissingPermission(["orders.work_all_tickets"])
    if request.method == "POST" and "take" in request.POST:
        try:
            assign_ticket(ticket=ticket, assignee=request.user, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The ticket is yours now."))
        return redirect("orders:ticket_reply", ticket.pk)
    if request.method == "POST" and form.is_valid():
        try:
            reply_on_ticket(
                ticket=ticket,
                actor=request.user,
                body=form.cleaned_data["body"],
                internal=form.cleaned_data["internal"],
                status=form.cleaned_data["status"],
                canned=form.cleaned_data["canned"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Reply sent."))
            return redirect("admin:orders_ticket_change", ticket.pk)
    return render_page(
        request,
        "orders/ticket_reply.html",
        {
            "ticket": ticket,
            "thread": ticket.messages.select_related("author"),
            "form": form
            if can_work and ticket.status != Ticket.Status.CLOSED
            else None,
            "assigned_elsewhere": not can_work,
            "risk_flag": flag_for(ticket.buyer),  # risk
            "can_take": can_work and ticket.assignee_id != request.user.pk,
            "sla": ticket_sla(ticket),
            "contacts": ticket_contacts(request, ticket),
            "page_id": "ticket-reply",
            **ticket_support_context(request, ticket),
        },
        title=_("Ticket #%(id)s") % {"id": ticket.pk},
    )


@staff_page("orders.view_ticket")
def ticket_attachment(request, pk: int):
    message = get_object_or_404(
        TicketMessage.objects.exclude(attachment=""),
        pk=pk,
        ticket__in=tickets_for_staff(request.user),
    )
    return FileResponse(
        message.attachment.open("rb"),
        content_type=attachment_content_type(message),
    )


class TopUpRefundForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "The money goes back to the buyer through the payment channel, by hand."
        ),
    )


@staff_page(TOPUP_REFUND_PERMISSION)
def refund_topup_page(request, pk: int):
    """Finance refunds a paid wallet top-up: its cash leaves the wallet and the
    top-up bonus it earned is taken back (orders.payments.topup_refunds)."""
    topup = get_object_or_404(WalletTopUp.objects.select_related("buyer"), pk=pk)
    form = TopUpRefundForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            refund_topup(
                topup=topup, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("Top-up %(no)s is refunded; its bonus is taken back.")
                % {"no": topup.topup_no},
            )
            return redirect("admin:orders_wallettopup_change", topup.pk)
    cash, bonus = wallet_split(user=topup.buyer)
    return render_page(
        request,
        "orders/refund_topup.html",
        {
            "topup": topup,
            "cash": cash,
            "bonus": bonus,
            "form": form,
            "page_id": "refund-topup",
        },
        title=_("Refund top-up %(no)s") % {"no": topup.topup_no},
    )
