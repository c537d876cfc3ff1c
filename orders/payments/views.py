"""Payment endpoints: gateway notifies, the sandbox gateway's payment page, and
the finance page of gateway money the shop could not settle by itself."""

from __future__ import annotations

import urllib.parse

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from kameng.admin_pages import render_page, staff_page
from kameng.navigation import Page, register_page
from orders.models import Order, PaymentAttempt, WalletTopUp
from orders.payments import sandbox_remote
from orders.payments.base import NotifyRequest, UnknownChannel
from orders.payments.registry import enabled_channels, get_gateway
from orders.payments.selectors import (
    payments_for_finance,
    unsettled_gateway_orders,
    unsettled_gateway_topups,
)
from orders.payments.services import receive_notify
from orders.payments.settling import notify_url, return_url, topup_return_url
from orders.payments.tasks import schedule_sandbox_notify
from orders.payments.topups import is_topup_number

FINANCE_PERMISSION = "orders.refund_order"
FINANCE_ROWS = 100

register_page(
    Page(
        app_label="orders",
        title=gettext_lazy("Unsettled gateway payments"),
        url_name="payments:finance",
        permission=FINANCE_PERMISSION,
        icon="account_balance",
    )
)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def notify(request, channel: str):
    """A gateway's asynchronous notify: answered the way that gateway expects."""
    try:
        gateway = get_gateway(channel)
    except UnknownChannel:
        return HttpResponse("fail", status=404, content_type="text/plain")
    params = request.GET.dict()
    if request.method == "POST" and request.content_type in {
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }:
        params.update(request.POST.dict())
    outcome = receive_notify(
        channel=channel,
        request=NotifyRequest(
            method=request.method,
            body=request.body if request.content_type == "application/json" else b"",
            headers=dict(request.headers),
            params=params,
        ),
    )
    return gateway.answer(ok=outcome.ok, reason=outcome.reason)


def _local(url: str) -> str:
    """Path and query of a return URL: the buyer stays on the host they use."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))


@require_http_methods(["GET", "POST"])
def sandbox_page(request, order_no: str):
    """The sandbox gateway's payment page: amount, "pay" and "fail" (for an
    order or a wallet top-up)."""
    if "sandbox" not in enabled_channels():
        raise Http404
    is_topup = is_topup_number(order_no)
    trade = sandbox_remote.get_trade(order_no)
    if trade is None and is_topup:  # the gateway's memory was lost: reopen
        topup = WalletTopUp.objects.filter(
            topup_no=order_no, channel="sandbox", status=WalletTopUp.Status.PENDING
        ).first()
        if topup is None:
            raise Http404
        trade = sandbox_remote.open_trade(
            order=topup, notify_url=notify_url("sandbox"), return_url=topup_return_url()
        )
    elif trade is None:  # the gateway's memory was lost: reopen from our attempt
        attempt = (
            PaymentAttempt.objects.filter(
                order__order_no=order_no,
                channel="sandbox",
                order__status=Order.Status.PENDING_PAYMENT,
            )
            .select_related("order__sku__product")
            .first()
        )
        if attempt is None:
            raise Http404
        trade = sandbox_remote.open_trade(
            order=attempt.order,
            notify_url=notify_url("sandbox"),
            return_url=return_url(attempt.order),
        )
    if request.method == "POST" and trade["status"] != "paid":
        pay = request.POST.get("action") == "pay"
        sandbox_remote.finish_trade(order_no=order_no, pay=pay)
        if pay:
            schedule_sandbox_notify(order_no=order_no)
        return redirect(_local(trade["return_url"]))
    return render(
        request,
        "orders/pay/sandbox.html",
        {
            "trade": trade,
            "back_url": _local(trade["return_url"]),
            "is_topup": is_topup,
        },
    )


@staff_page(FINANCE_PERMISSION)
def finance(request):
    return render_page(
        request,
        "orders/pay/finance.html",
        {
            "payments": list(payments_for_finance()[:FINANCE_ROWS]),
            "attempts": list(unsettled_gateway_orders()[:FINANCE_ROWS]),
            "topups": list(unsettled_gateway_topups()[:FINANCE_ROWS]),
            "page_id": "payments-finance",
        },
        title=_("Unsettled gateway payments"),
    )
