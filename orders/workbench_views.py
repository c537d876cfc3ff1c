"""The order workbench's pages: the filtered list, saved filters, the Excel
export (start, progress, download) and the staff actions on one order, each
asking a reason and showing what it will do before it is done.

Views parse and render; orders.workbench holds the list and export rules,
orders.fulfilment / orders.checkout the actions' rules.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from catalog.models import Sku, SupplierOffer
from kameng.admin_pages import render_page, staff_page
from kameng.exceptions import DomainError
from kameng.navigation import Page, register_page
from kameng.parsing import parse_ascii_int
from orders.checkout import cancel_order
from orders.exceptions import DeliveryRefused
from orders.fulfilment import (
    deliver_manually,
    manual_delivery_refusal,
    plan_retry,
    plan_switch,
    retry_fulfilment,
    switch_offers,
    switch_supplier,
)
from orders.models import Order, OrderExport
from orders.refunds import REFUND_PERMISSION
from orders.risk import flags_for
from orders.tasks import enqueue_order_export
from orders.transitions import ALLOWED
from orders.workbench import (
    delete_order_filter,
    export_path,
    export_percent,
    exports_for,
    order_page,
    parse_filters,
    save_order_filter,
    saved_filters,
    start_order_export,
)

VIEW_PERMISSION = "orders.view_order"
# Operations: the delivery decisions (retry, switch supplier, deliver by hand,
# cancel an unpaid order). Refunds are finance's (orders.refund_order).
ACTION_PERMISSION = "orders.deliver_order"
RECENT_EXPORTS = 5

register_page(
    Page(
        app_label="orders",
        title=gettext_lazy("Order workbench"),
        url_name="orders:workbench",
        permission=VIEW_PERMISSION,
        icon="manage_search",
    )
)


@never_cache
@staff_page(VIEW_PERMISSION)
def workbench(request):
    """The order list: filters, exact search, saved filters, pages without a
    total, and the export of what the filters select."""
    form = parse_filters(request.GET)
    page = None
    if form.is_valid():
        number = parse_ascii_int(request.GET.get("p", "1"), max_digits=6) or 1
        page = order_page(form.cleaned_data, number=number)
        risk = flags_for(order.buyer_id for order in page.rows)  # one query
        for order in page.rows:
            order.risk_flag = risk.get(order.buyer_id)
    query = form.query_string()
    return render_page(
        request,
        "orders/workbench/list.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "saved": saved_filters(owner=request.user),
            "exports": exports_for(user=request.user)[:RECENT_EXPORTS],
            "filtered": form.is_valid() and form.is_filtered(),
            "page_id": "order-workbench",
        },
        title=_("Order workbench"),
    )


def _back_to_list(query: str):
    url = reverse("orders:workbench")
    return redirect(f"{url}?{query}" if query else url)


@require_POST
@staff_page(VIEW_PERMISSION)
def save_filter(request):
    query = request.POST.get("query", "")
    try:
        saved = save_order_filter(
            owner=request.user, name=request.POST.get("name", ""), query=query
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Filter “%(name)s” saved.") % {"name": saved.name})
    return _back_to_list(query)


@require_POST
@staff_page(VIEW_PERMISSION)
def delete_filter(request, pk: int):
    if not delete_order_filter(owner=request.user, filter_id=pk):
        raise Http404(_("No such saved filter."))
    messages.success(request, _("Saved filter removed."))
    return _back_to_list("")


@require_POST
@staff_page(VIEW_PERMISSION)
def export_start(request):
    query = QueryDict(request.POST.get("query", ""))
    try:
        export = start_order_export(actor=request.user, criteria=query.dict())
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back_to_list(query.urlencode())
    enqueue_order_export(export.pk)
    return redirect("orders:export", export.pk)


def _own_export(request, pk: int) -> OrderExport:
    return get_object_or_404(exports_for(user=request.user), pk=pk)


def _export_context(export: OrderExport) -> dict:
    return {
        "export": export,
        "percent": export_percent(export),
        "polling": export.status
        in (OrderExport.Status.QUEUED, OrderExport.Status.RUNNING),
    }


@never_cache
@staff_page(VIEW_PERMISSION)
def export_page(request, pk: int):
    export = _own_export(request, pk)
    return render_page(
        request,
        "orders/workbench/export.html",
        {
            **_export_context(export),
            "page_id": "order-export",
        },
        title=_("Order export #%(id)s") % {"id": export.pk},
    )


@never_cache
@require_GET
@staff_page(VIEW_PERMISSION)
def export_progress(request, pk: int):
    """The progress fragment htmx polls until the file is ready."""
    export = _own_export(request, pk)
    return render(
        request, "orders/workbench/_export_progress.html", _export_context(export)
    )


@never_cache
@require_GET
@staff_page(VIEW_PERMISSION)
def export_download(request, pk: int):
    export = _own_export(request, pk)
    if export.status != OrderExport.Status.DONE:
        raise Http404(_("This export has no file to download."))
    path = export_path(export)
    if not path.exists():
        raise Http404(_("This export's file has been removed."))
    stamp = timezone.localtime(export.created_at).strftime("%Y%m%d-%H%M")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=_("orders-%(stamp)s.xlsx") % {"stamp": stamp},
        content_type="application/vnd.openxmlformats-officedocument"
        ".spreadsheetml.sheet",
    )


# Actions on one order ------------------------------------------------------------


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Kept in the order's timeline with your name and the time."
        ),
    )


class SwitchForm(ReasonForm):
    offer = forms.ModelChoiceField(
        label=gettext_lazy("Send it to"),
        queryset=SupplierOffer.objects.none(),
        empty_label=None,
    )
    field_order = ("offer", "reason")

    def __init__(self, *args, offers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offer"].queryset = SupplierOffer.objects.filter(
            pk__in=[offer.pk for offer in offers]
        ).select_related("supplier")
        self.fields["offer"].label_from_instance = lambda offer: offer.supplier.name


class DeliverForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("What was delivered"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "The buyer sees this text on the order page; it is also the reason "
            "in the timeline."
        ),
    )


def _order(pk: int) -> Order:
    return get_object_or_404(
        Order.objects.select_related("sku__product", "buyer"), pk=pk
    )


def _action_page(request, order, *, form, plan, refusal, title, action, confirm):
    """Step 1: the form (reason); step 2: what will happen, and a confirm
    button that posts the same values with confirm=1."""
    return render_page(
        request,
        "orders/workbench/action.html",
        {
            "order": order,
            "form": form,
            "plan": plan,
            "refusal": refusal,
            "action": action,
            "confirm_label": confirm,
            "page_id": f"order-{action}",
        },
        title=title % {"no": order.order_no},
    )


def _done(request, order, message: str):
    messages.success(request, message % {"no": order.order_no})
    return redirect("admin:orders_order_change", order.pk)


@never_cache
@staff_page(ACTION_PERMISSION)
def retry(request, pk: int):
    order = _order(pk)
    form = ReasonForm(request.POST or None)
    plan = refusal = None
    try:
        steps = plan_retry(order=order).steps
    except DeliveryRefused as exc:
        refusal = exc.message
    else:
        if request.method == "POST" and form.is_valid():
            if "confirm" not in request.POST:
                plan = steps
            else:
                try:
                    retry_fulfilment(
                        order=order,
                        actor=request.user,
                        reason=form.cleaned_data["reason"],
                    )
                except DomainError as exc:
                    form.add_error(None, exc.message)
                else:
                    return _done(request, order, _("Order %(no)s: top-up retried."))
    return _action_page(
        request,
        order,
        form=form,
        plan=plan,
        refusal=refusal,
        title=_("Retry the top-up of order %(no)s"),
        action="retry",
        confirm=_("Retry now"),
    )


@never_cache
@staff_page(ACTION_PERMISSION)
def switch(request, pk: int):
    order = _order(pk)
    offers = switch_offers(order=order)
    form = SwitchForm(request.POST or None, offers=offers)
    plan = refusal = None
    if not offers:
        refusal = _("This item has no other enabled supplier offer.")
    else:
        try:
            plan_retry(order=order)
        except DeliveryRefused as exc:
            refusal = exc.message
    if refusal is None and request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if "confirm" not in request.POST:
                plan = plan_switch(order=order, offer=data["offer"]).steps
            else:
                switch_supplier(
                    order=order,
                    offer=data["offer"],
                    actor=request.user,
                    reason=data["reason"],
                )
                return _done(
                    request, order, _("Order %(no)s: top-up sent to another supplier.")
                )
        except DomainError as exc:
            form.add_error(None, exc.message)
    return _action_page(
        request,
        order,
        form=form,
        plan=plan,
        refusal=refusal,
        title=_("Switch the supplier of order %(no)s"),
        action="switch",
        confirm=_("Switch and retry"),
    )


@never_cache
@staff_page(ACTION_PERMISSION)
def mark_delivered(request, pk: int):
    order = _order(pk)
    form = DeliverForm(request.POST or None)
    plan = None
    refusal = manual_delivery_refusal(order)
    if refusal is None and Order.Status.DELIVERED not in ALLOWED[order.status]:
        refusal = _("Order %(no)s cannot be delivered while it is %(status)s.") % {
            "no": order.order_no,
            "status": order.get_status_display(),
        }
    if refusal is None and request.method == "POST" and form.is_valid():
        if "confirm" not in request.POST:
            plan = (
                _("The order becomes: %(status)s.")
                % {"status": Order.Status.DELIVERED.label},
                _("The buyer sees what you wrote as the delivery."),
            )
        else:
            try:
                deliver_manually(
                    order=order, actor=request.user, note=form.cleaned_data["note"]
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                return _done(request, order, _("Order %(no)s delivered."))
    return _action_page(
        request,
        order,
        form=form,
        plan=plan,
        refusal=refusal,
        title=_("Mark order %(no)s delivered"),
        action="deliver",
        confirm=_("Mark delivered"),
    )


@never_cache
@staff_page(ACTION_PERMISSION)
def cancel(request, pk: int):
    order = _order(pk)
    form = ReasonForm(request.POST or None)
    plan = None
    refusal = None
    if Order.Status.CANCELLED not in ALLOWED[order.status]:
        refusal = _(
            "Only unpaid orders are cancelled; order %(no)s is %(status)s. A paid "
            "order is refunded by finance instead."
        ) % {"no": order.order_no, "status": order.get_status_display()}
    if refusal is None and request.method == "POST" and form.is_valid():
        if "confirm" not in request.POST:
            plan = (
                _("The order becomes: %(status)s.")
                % {"status": Order.Status.CANCELLED.label},
                _("The buyer can no longer pay for it."),
                _(
                    "A payment that still arrives goes back to the buyer's wallet "
                    "(a guest's: to finance, for a refund through the gateway)."
                ),
            )
        else:
            try:
                cancel_order(
                    order=order,
                    actor=request.user,
                    reason=_("Cancelled by staff: %(reason)s")
                    % {"reason": form.cleaned_data["reason"].strip()},
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                return _done(request, order, _("Order %(no)s cancelled."))
    return _action_page(
        request,
        order,
        form=form,
        plan=plan,
        refusal=refusal,
        title=_("Cancel order %(no)s"),
        action="cancel",
        confirm=_("Cancel the order"),
    )


def order_actions(user, order: Order) -> list[dict]:
    """The actions this member of staff may take on this order now (links to
    their reason-and-confirm pages); the pages check again."""
    actions = []
    delivery_type = order.sku.delivery_type
    job = getattr(order, "fulfilment", None)
    if user.has_perm(ACTION_PERMISSION):
        if delivery_type == Sku.DeliveryType.TOPUP and job is not None:
            actions.append(("orders:retry_fulfilment", _("Retry the top-up"), "retry"))
            actions.append(
                ("orders:switch_supplier", _("Switch supplier and retry"), "switch")
            )
        if delivery_type == Sku.DeliveryType.MANUAL and (
            Order.Status.DELIVERED in ALLOWED[order.status]
            and order.status != Order.Status.AFTER_SALES
        ):
            actions.append(("orders:mark_delivered", _("Mark delivered"), "deliver"))
        if Order.Status.CANCELLED in ALLOWED[order.status]:
            actions.append(("orders:cancel_order", _("Cancel the order"), "cancel"))
    if user.has_perm(REFUND_PERMISSION) and order.refunded_amount < order.amount:
        if order.status not in (Order.Status.PENDING_PAYMENT, Order.Status.CANCELLED):
            actions.append(("orders:refund", _("Refund…"), "refund"))
    return [
        {"url": reverse(name, args=[order.pk]), "label": label, "code": code}
        for name, label, code in actions
    ]
