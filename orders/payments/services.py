"""Gateway payments: send the buyer to a gateway, settle what it reports, sweep.

Rules (the same for every gateway):
- A payment is recorded once per (channel, gateway trade number): a Payment row
  under a unique constraint, written while the order row is locked. Two notifies
  racing each other (or a notify and the settle-pending sweeper) are serialised
  on the order lock; the second finds the Payment and is a no-op success.
- The amount must equal the order's amount, else the payment is recorded as
  `amount_mismatch`, the order is flagged with a ticket, and nothing is paid or
  refunded automatically (finance decides: the money is suspicious).
- Paying a pending order works exactly like the wallet: status paid, card codes
  taken in the same transaction, delivered at once.
- Sold out at payment: the payment is kept. A buyer with an account is refunded
  to the wallet at once (paid → refunded); a guest's order goes paid → failed
  with a ticket for finance to refund through the gateway (never 'paid' without
  codes). Either way the order carries a "sold out" note for the buyer.
- Late payment (order cancelled by the timeout) or a second payment of an order
  already paid: the payment is recorded and credited to the buyer's wallet; a
  guest's goes to finance (ticket, `for_finance`). The cancelled order is not
  revived: its price and stock may be gone.
- A notify lost on the way: the settle-pending sweeper asks the gateway about
  orders sent to it and still pending after PAYMENT_QUERY_AFTER_MINUTES, and
  settles the paid ones; "unknown" answers are listed for finance.
- Unpaid orders are cancelled after ORDER_PAYMENT_TIMEOUT_MINUTES (a gateway
  order is asked about once more first). Nothing is released because nothing
  is held before payment: codes are taken when paid. A plain timeout is not
  flagged (abandoned checkouts are normal).
- Wallet top-ups paid through a gateway follow orders.payments.topups; their
  notifies arrive here and are routed there by the number's "W" prefix.
"""

from __future__ import annotations

import logging
import urllib.parse
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kameng import events
from kameng.exceptions import DomainError
from orders.exceptions import IllegalTransition, SoldOut
from orders.fulfilment import deliver_on_payment
from orders.models import Order, Payment, PaymentAttempt
from orders.payments.base import (
    Notice,
    NotifyRejected,
    NotifyRequest,
    UnknownChannel,
)
from orders.payments.registry import get_gateway
from orders.payments.settling import (
    notify_url,
    query_gateway,
    record_check,
    recorded_payment,
    return_url,
    settle_answer,
)
from orders.payments.topups import (
    is_topup_number,
    settle_pending_topups,
    settle_topup_payment,
)
from orders.refunds import refund_to_wallet
from orders.transitions import (
    open_abnormal_ticket,
    send_after_commit,
    transition_order,
)
from users.models import LedgerEntry
from users.services import credit_wallet

logger = logging.getLogger(__name__)
S = Order.Status


def start_gateway_payment(*, order: Order, channel: str) -> str:
    """The URL to send the buyer to, to pay `order` through `channel` (the
    sandbox page, or the epay submit URL). Records the attempt for the sweeper."""
    gateway = get_gateway(channel)  # UnknownChannel when off or unknown
    order = Order.objects.select_related("sku__product").get(pk=order.pk)
    if order.status != S.PENDING_PAYMENT:
        raise IllegalTransition(
            _("Order %(no)s is %(status)s and cannot be paid.")
            % {"no": order.order_no, "status": S(order.status).label}
        )
    PaymentAttempt.objects.get_or_create(order=order, channel=channel)
    return gateway.start(
        order=order, notify_url=notify_url(channel), return_url=return_url(order)
    )


# Settling ---------------------------------------------------------------------------
@transaction.atomic
def settle_payment(*, channel: str, notice: Notice) -> Payment:
    """Record the payment `notice` reports and act on the order (module rules).
    Idempotent per (channel, trade_no). Raises NotifyRejected for an unknown
    order or a trade number already recorded with other facts. A notify for a
    wallet top-up (number "W…") is settled by orders.payments.topups."""
    if is_topup_number(notice.order_no):
        return settle_topup_payment(channel=channel, notice=notice)
    order = (
        Order.objects.select_for_update(of=("self",))  # the order row, not its SKU
        .select_related("sku")
        .filter(order_no=notice.order_no)
        .first()
    )
    if order is None:
        raise NotifyRejected(
            "unknown_order",
            _("Order %(no)s does not exist.") % {"no": notice.order_no},
        )
    existing = recorded_payment(channel=channel, notice=notice, order_id=order.pk)
    if existing is not None:
        return existing  # a replay or a racing duplicate: already done
    payment = Payment(
        order=order,
        channel=channel,
        trade_no=notice.trade_no,
        amount=notice.amount,
        raw_notify=notice.raw,
    )
    if notice.amount != order.amount:
        return _amount_mismatch(order=order, payment=payment)
    if order.status != S.PENDING_PAYMENT:
        return _extra_payment(order=order, payment=payment)

    payment.outcome = Payment.Outcome.SETTLED
    payment.save()
    order.payment_method = Order.PaymentMethod.GATEWAY
    transition_order(
        order=order,
        to=S.PAID,
        reason=f"{channel} {notice.trade_no}",
        also=("payment_method",),
    )
    try:
        with transaction.atomic():  # a savepoint: a failed delivery undoes itself
            deliver_on_payment(order=order, actor=None)
    except SoldOut as exc:
        order.refresh_from_db()
        _sold_out(order=order, payment=payment, reason=exc.message)
    except DomainError as exc:
        order.refresh_from_db()
        transition_order(order=order, to=S.FAILED, reason=exc.message)
        open_abnormal_ticket(
            order=order, flag=Order.Flag.SUPPLIER_FAILURE, message=exc.message
        )
    send_after_commit(
        events.order_paid,
        order_id=order.pk,
        buyer_id=order.buyer_id,
        amount=order.amount,
        payment_method=order.payment_method,
        category_id=order.sku.product.category_id,  # marketing: category bought
    )
    return payment


def _amount_mismatch(*, order: Order, payment: Payment) -> Payment:
    payment.outcome = Payment.Outcome.AMOUNT_MISMATCH
    payment.note = _("Received %(paid)s for an order of %(due)s.") % {
        "paid": payment.amount,
        "due": order.amount,
    }
    payment.save()
    open_abnormal_ticket(
        order=order,
        flag=Order.Flag.AMOUNT_MISMATCH,
        message=_(
            "Gateway %(channel)s reported trade %(trade)s: %(note)s The order was "
            "not paid; check the payment and refund or settle it by hand."
        )
        % {"channel": payment.channel, "trade": payment.trade_no, "note": payment.note},
    )
    logger.warning(
        "payment: amount mismatch on %s via %s trade %s (%s != %s)",
        order.order_no,
        payment.channel,
        payment.trade_no,
        payment.amount,
        order.amount,
    )
    return payment


def _extra_payment(*, order: Order, payment: Payment) -> Payment:
    """Money for an order that is no longer waiting for it (cancelled by the
    timeout, or already paid by another trade)."""
    late = order.status == S.CANCELLED or order.paid_at is None
    if order.buyer_id:
        payment.outcome = Payment.Outcome.REFUNDED_TO_WALLET
        payment.note = _("Credited to the buyer's balance.")
        payment.save()
        credit_wallet(
            user=order.buyer,
            amount=payment.amount,
            kind=LedgerEntry.Kind.REFUND,
            reference=order.order_no,
            note=_("Payment %(trade)s arrived after the order closed.")
            % {"trade": payment.trade_no},
        )
    else:
        payment.outcome = Payment.Outcome.FOR_FINANCE
        payment.note = _("Guest order: refund through the gateway.")
        payment.save()
    message = (
        _(
            "Payment %(trade)s (%(amount)s via %(channel)s) arrived after the order "
            "was %(status)s. %(note)s"
        )
        if late
        else _(
            "Second payment %(trade)s (%(amount)s via %(channel)s) for an order "
            "already %(status)s. %(note)s"
        )
    ) % {
        "trade": payment.trade_no,
        "amount": payment.amount,
        "channel": payment.channel,
        "status": S(order.status).label,
        "note": payment.note,
    }
    open_abnormal_ticket(
        order=order,
        flag=Order.Flag.PAYMENT_TIMEOUT if late else Order.Flag.AMOUNT_MISMATCH,
        message=message,
    )
    logger.warning("payment: %s", message)
    return payment


def _sold_out(*, order: Order, payment: Payment, reason: str) -> None:
    if order.buyer_id:
        note = _(
            "Sold out: this item ran out while you were paying. %(amount)s was "
            "refunded to your balance."
        ) % {"amount": order.amount}
        refund_to_wallet(order=order, reason=f"{reason} {note}")
        payment.outcome = Payment.Outcome.REFUNDED_TO_WALLET
        Order.objects.filter(pk=order.pk).update(
            flag=Order.Flag.SOLD_OUT, delivery={"note": note}
        )
    else:
        note = _(
            "Sold out: this item ran out while you were paying. Your payment will "
            "be refunded through the payment gateway."
        )
        transition_order(order=order, to=S.FAILED, reason=reason)
        payment.outcome = Payment.Outcome.FOR_FINANCE
        Order.objects.filter(pk=order.pk).update(delivery={"note": note})
        open_abnormal_ticket(
            order=order,
            flag=Order.Flag.SOLD_OUT,
            message=_("%(reason)s Guest paid %(amount)s via %(channel)s (%(trade)s).")
            % {
                "reason": reason,
                "amount": payment.amount,
                "channel": payment.channel,
                "trade": payment.trade_no,
            },
        )
    payment.note = note[:300]
    payment.save(update_fields=["outcome", "note"])
    logger.warning("payment: %s sold out after payment: %s", order.order_no, reason)


# Notifies ---------------------------------------------------------------------------
@dataclass(frozen=True)
class NotifyOutcome:
    ok: bool
    reason: str = ""
    payment: Payment | None = None


def receive_notify(*, channel: str, request: NotifyRequest) -> NotifyOutcome:
    """Verify a gateway's notify and settle it. Rejections are logged and change
    nothing; database errors are not swallowed (the gateway retries)."""
    try:
        gateway = get_gateway(channel)
        notice = gateway.verify_notify(request)
        if not notice.paid:
            logger.info(
                "payment notify: %s %s not paid (%s)",
                channel,
                notice.order_no,
                notice.raw.get("trade_status") or notice.raw.get("status"),
            )
            return NotifyOutcome(ok=True, reason="not_paid")
        payment = settle_payment(channel=channel, notice=notice)
    except UnknownChannel:
        logger.warning("payment notify rejected: unknown channel %r", channel)
        return NotifyOutcome(ok=False, reason="unknown_channel")
    except NotifyRejected as exc:
        logger.warning(
            "payment notify rejected: channel=%s reason=%s %s params=%s",
            channel,
            exc.reason,
            exc.message,
            _loggable(request),
        )
        return NotifyOutcome(ok=False, reason=exc.reason)
    return NotifyOutcome(ok=True, reason=payment.outcome, payment=payment)


def _loggable(request: NotifyRequest) -> str:
    body = request.body[:500].decode("utf-8", "replace")
    params = urllib.parse.urlencode(request.params)[:500]
    return f"{params} body={body}"


# Sweepers ---------------------------------------------------------------------------
def settle_pending_gateway_orders(*, limit: int = 200) -> dict[str, int]:
    """Ask the gateway about orders (and wallet top-ups) sent to it and still
    pending after PAYMENT_QUERY_AFTER_MINUTES (a notify lost on the way), and
    settle the paid ones. What the gateway cannot tell stays listed for finance."""
    now = timezone.now()
    since = now - timedelta(minutes=settings.PAYMENT_QUERY_AFTER_MINUTES)
    attempts = (
        PaymentAttempt.objects.filter(
            created_at__lte=since, order__status=S.PENDING_PAYMENT
        )
        .select_related("order__sku")
        # Never asked first, then the longest unasked (NULLS FIRST on Postgres too).
        .order_by(F("checked_at").asc(nulls_first=True), "id")[:limit]
    )
    counts = {"paid": 0, "unpaid": 0, "unknown": 0, "rejected": 0}
    for attempt in attempts:
        counts[_check_attempt(attempt)] += 1
    for state, n in settle_pending_topups(limit=limit).items():
        counts[state] += n
    return counts


def _check_attempt(attempt: PaymentAttempt) -> str:
    """Ask the gateway about one attempt, settle it if paid, remember the answer."""
    order = attempt.order
    result = query_gateway(channel=attempt.channel, payable=order)
    state, note = settle_answer(
        payable=order,
        result=result,
        settle=lambda notice: settle_payment(channel=attempt.channel, notice=notice),
    )
    return record_check(PaymentAttempt.objects.filter(pk=attempt.pk), state, note)


def cancel_expired_orders(*, limit: int = 500) -> int:
    """Cancel orders left unpaid longer than ORDER_PAYMENT_TIMEOUT_MINUTES. An
    order sent to a gateway is asked about once more first, so a payment whose
    notify was lost in the last minutes is delivered, not cancelled."""
    deadline = timezone.now() - timedelta(
        minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES
    )
    ids = list(
        Order.objects.filter(status=S.PENDING_PAYMENT, created_at__lt=deadline)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for attempt in PaymentAttempt.objects.filter(order_id__in=ids).select_related(
        "order__sku"
    ):
        _check_attempt(attempt)
    cancelled = 0
    for pk in ids:
        cancelled += cancel_unpaid_order(order_id=pk)
    return cancelled


@transaction.atomic
def cancel_unpaid_order(*, order_id: int) -> bool:
    """Cancel one order if it is still waiting for payment (a notify may have
    paid it since it was listed: the lock decides)."""
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None or order.status != S.PENDING_PAYMENT:
        return False
    transition_order(
        order=order,
        to=S.CANCELLED,
        reason=_("Not paid within %(minutes)s minutes.")
        % {"minutes": settings.ORDER_PAYMENT_TIMEOUT_MINUTES},
    )
    return True
