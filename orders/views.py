"""Back-office pages of orders (inside the admin layout)."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kameng.admin_pages import render_page, staff_page
from kameng.exceptions import DomainError
from kameng.navigation import Page, register_page
from orders.fulfilment import (
    deliver_manually,
    manual_delivery_refusal,
    resolve_stuck_topup,
)
from orders.models import Order
from orders.selectors import manual_queue

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
