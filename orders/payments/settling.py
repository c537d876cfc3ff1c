"""What settling order payments and wallet top-ups share: our public URLs the
gateway calls back, the once-per-trade record check, and the sweepers' question
to a gateway. Below orders.payments.services and orders.payments.topups, which
each settle their own kind of payable."""

from __future__ import annotations

import logging

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Order, Payment
from orders.payments.base import Notice, NotifyRejected, QueryResult, UnknownChannel
from orders.payments.registry import get_gateway

logger = logging.getLogger(__name__)


def absolute_url(path: str) -> str:
    """`path` on the shop's public address (what a gateway can reach)."""
    return settings.PAYMENT_PUBLIC_BASE_URL.rstrip("/") + path


def notify_url(channel: str) -> str:
    return absolute_url(reverse("payments:notify", kwargs={"channel": channel}))


def return_url(order: Order) -> str:
    """Where the gateway sends the buyer back: the storefront's order page."""
    try:
        path = reverse("shop:order", kwargs={"order_no": order.order_no})
    except NoReverseMatch:
        path = "/"
    return absolute_url(path)


def topup_return_url() -> str:
    """Where the gateway sends the buyer back after a wallet top-up."""
    return absolute_url(reverse("shop:wallet"))


def recorded_payment(*, channel: str, notice: Notice, **owner) -> Payment | None:
    """The Payment already recorded for this (channel, trade number), if any.
    `owner` is order_id=… or topup_id=…: the same trade reported for another
    order or top-up, or with another amount, is refused, never re-applied."""
    existing = Payment.objects.filter(channel=channel, trade_no=notice.trade_no).first()
    if existing is None:
        return None
    ((field, value),) = owner.items()
    if getattr(existing, field) != value or existing.amount != notice.amount:
        raise NotifyRejected(
            "trade_conflict",
            _("Trade %(trade)s was already recorded with another order or amount.")
            % {"trade": notice.trade_no},
        )
    return existing


def record_check(rows, state: str, note: str) -> str:
    """Write a gateway answer on the swept rows (attempts or top-ups): finance
    reads it; the sweep asks the longest-unasked first."""
    rows.update(
        checked_at=timezone.now(),
        check_result=state if state != "rejected" else QueryResult.UNKNOWN,
        check_note=note[:300],
    )
    return state


def query_gateway(*, channel: str, payable) -> QueryResult:
    """Ask `channel` whether `payable` (an order or a wallet top-up) was paid.
    Never raises, so one broken gateway does not stop a sweep: a channel switched
    off or a gateway that fails is an UNKNOWN answer with the reason."""
    try:
        gateway = get_gateway(channel)
    except UnknownChannel as exc:
        return QueryResult(QueryResult.UNKNOWN, detail=exc.message)
    try:
        return gateway.query(order=payable)
    except Exception as exc:  # a broken gateway must not stop the sweep
        logger.exception("payment: query of %s failed", payable.order_no)
        return QueryResult(QueryResult.UNKNOWN, detail=repr(exc))


def settle_answer(*, payable, result: QueryResult, settle) -> tuple[str, str]:
    """Settle a PAID gateway answer with `settle(notice)` (the payable's own
    settle service). Returns the state and a note for record_check."""
    if result.state != QueryResult.PAID:
        return result.state, result.detail
    try:
        payment = settle(result.notice)
    except NotifyRejected as exc:
        logger.warning(
            "payment: query answer for %s rejected: %s", payable.order_no, exc
        )
        return "rejected", exc.message
    logger.info("payment: %s settled by query (%s)", payable.order_no, payment.outcome)
    return QueryResult.PAID, payment.trade_no
