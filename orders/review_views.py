"""Back-office pages of risk and money back: orders held for a risk review
(release or refuse, with a reason), and finance's list of guest refunds still
to finish at a payment gateway."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kameng.admin_pages import render_page, staff_page
from kameng.exceptions import DomainError
from kameng.navigation import Page, register_page
from orders.models import Order, RefundRequest
from orders.refunds import (
    GATEWAY_STATES,
    REFUND_PERMISSION,
    confirm_refund_by_hand,
    gateway_refunds_to_finish,
)
from orders.review import REVIEW_PERMISSION, refuse_held_order, release_held_order
from orders.risk import flags_for, held_orders

PAGE_SIZE = 100

register_page(
    Page(
        app_label="orders",
        title=gettext_lazy("Orders held for review"),
        url_name="orders:held_queue",
        permission=REVIEW_PERMISSION,
        icon="gpp_maybe",
    )
)
register_page(
    Page(
        app_label="orders",
        title=gettext_lazy("Refunds to finish at a gateway"),
        url_name="orders:gateway_refunds",
        permission=REFUND_PERMISSION,
        icon="currency_exchange",
    )
)


@staff_page(REVIEW_PERMISSION)
def held_queue(request):
    """Paid orders of risk-flagged buyers waiting for a decision, oldest first."""
    orders = list(
        held_orders().select_related("sku__product", "buyer")[: PAGE_SIZE + 1]
    )
    flags = flags_for(order.buyer_id for order in orders)
    rows = [{"order": o, "flag": flags.get(o.buyer_id)} for o in orders[:PAGE_SIZE]]
    return render_page(
        request,
        "orders/held_queue.html",
        {"rows": rows, "more": len(orders) > PAGE_SIZE, "page_id": "held-queue"},
        title=_("Orders held for review"),
    )


class ReviewForm(forms.Form):
    RELEASE = "release"
    REFUSE = "refuse"

    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            (RELEASE, gettext_lazy("Release: deliver the order now")),
            (REFUSE, gettext_lazy("Refuse: do not deliver, refund the buyer in full")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "Recorded in the order's timeline; a refusal's reason is shown to the "
            "buyer with the refund."
        ),
    )


@staff_page(REVIEW_PERMISSION)
def review_held(request, pk: int):
    order = get_object_or_404(
        Order.objects.select_related("sku__product", "buyer"), pk=pk
    )
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == ReviewForm.RELEASE:
                order = release_held_order(
                    order=order, actor=request.user, reason=data["reason"]
                )
                messages.success(
                    request,
                    _("Order %(no)s released: %(status)s.")
                    % {"no": order.order_no, "status": order.get_status_display()},
                )
            else:
                order = refuse_held_order(
                    order=order, actor=request.user, reason=data["reason"]
                )
                messages.success(
                    request,
                    _("Order %(no)s refused and refunded to the buyer's wallet.")
                    % {"no": order.order_no},
                )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("orders:held_queue")
    return render_page(
        request,
        "orders/review_held.html",
        {
            "order": order,
            "flag": flags_for([order.buyer_id]).get(order.buyer_id),
            "form": form if order.status == Order.Status.HELD else None,
            "page_id": "review-held",
        },
        title=_("Review held order %(no)s") % {"no": order.order_no},
    )


class ConfirmByHandForm(forms.Form):
    reference = forms.CharField(
        label=gettext_lazy("Gateway refund number or your reference"),
        max_length=64,
    )


@staff_page(REFUND_PERMISSION)
def gateway_refunds(request):
    """Guest refunds the gateway has not confirmed, newest first."""
    rows = list(gateway_refunds_to_finish()[: PAGE_SIZE + 1])
    return render_page(
        request,
        "orders/gateway_refunds.html",
        {
            "rows": rows[:PAGE_SIZE],
            "more": len(rows) > PAGE_SIZE,
            "page_id": "gateway-refunds",
        },
        title=_("Refunds to finish at a gateway"),
    )


@staff_page(REFUND_PERMISSION)
def confirm_gateway_refund(request, pk: int):
    """Finance refunded a guest at the gateway's site and records its number."""
    refund = get_object_or_404(
        RefundRequest.objects.select_related("order__sku__product"), pk=pk
    )
    form = ConfirmByHandForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            confirm_refund_by_hand(
                refund=refund,
                actor=request.user,
                reference=form.cleaned_data["reference"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Refund for order %(no)s marked done.")
                % {"no": refund.order.order_no},
            )
            return redirect("orders:gateway_refunds")
    return render_page(
        request,
        "orders/confirm_gateway_refund.html",
        {
            "refund": refund,
            "order": refund.order,
            "form": form if refund.status in GATEWAY_STATES else None,
            "page_id": "confirm-gateway-refund",
        },
        title=_("Refund of order %(no)s at the gateway")
        % {"no": refund.order.order_no},
    )
