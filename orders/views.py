"""Back-office pages of orders (inside the admin layout)."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kameng.admin_pages import render_page, staff_page
from kameng.exceptions import DomainError
from kameng.navigation import Page, register_page
from orders.fulfilment import deliver_manually
from orders.models import Order
from orders.selectors import manual_queue

QUEUE_PAGE_SIZE = 100

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
    if request.method == "POST" and form.is_valid():
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
        {"order": order, "form": form, "page_id": "order-deliver"},
        title=_("Deliver order %(no)s") % {"no": order.order_no},
    )
