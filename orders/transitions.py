"""The bottom of orders: the transition table, the one function that applies it,
signals sent after commit, and abnormal-order tickets.

One transition table (ALLOWED), one function that applies it (transition_order)
and writes the timeline row. Signals leave only after commit, with ids; a
deferred one (order_paid) leaves an outbox row in the transaction instead, which
the worker announces (orders.paid_outbox). Every other orders module builds on
these; this one imports none of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketing import benefits
from marketing.benefits import release_benefits
from orders.exceptions import IllegalTransition
from orders.models import (
    Order,
    OrderEvent,
    PaidAnnouncement,
    Ticket,
    TicketMessage,
)

logger = logging.getLogger(__name__)
S = Order.Status
ALLOWED: dict[str, set[str]] = {
    S.PENDING_PAYMENT: {S.PAID, S.CANCELLED},
    S.PAID: {
        S.HELD,
        S.DELIVERING,
        S.DELIVERED,
        S.FAILED,
        S.REFUNDED,
        S.PARTIALLY_REFUNDED,
        S.AFTER_SALES,
        S.WAITING_GROUP,
    },
    S.DELIVERING: {S.DELIVERED, S.FAILED},
    S.DELIVERED: {S.AFTER_SALES, S.REFUNDED, S.PARTIALLY_REFUNDED},
    S.FAILED: {S.REFUNDED, S.PARTIALLY_REFUNDED, S.DELIVERING},
    S.AFTER_SALES: {S.DELIVERED, S.REFUNDED, S.PARTIALLY_REFUNDED},
    S.PARTIALLY_REFUNDED: {S.REFUNDED, S.AFTER_SALES},
    S.CANCELLED: set(),
    S.REFUNDED: set(),
    # A risk-flagged buyer's order waits for staff (orders.risk, orders.review):
    # released it is paid again and delivered; refused it is refunded.
    S.HELD: {S.PAID, S.REFUNDED},
    # A group buy's paid order waits for its group (orders.group_buy): filled,
    # it is paid again and delivered; the group failed, it is refunded.
    S.WAITING_GROUP: {S.PAID, S.REFUNDED},
}


def transition_order(
    *, order: Order, to: str, actor=None, reason: str = "", also: tuple = ()
) -> Order:
    """Move `order` (locked by the caller) to `to`, or raise IllegalTransition.
    Writes the OrderEvent in the caller's transaction; `also` names fields the
    caller changed on the instance, saved in the same UPDATE."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("transition_order must run inside a transaction")
    if to not in ALLOWED[order.status]:
        raise IllegalTransition(
            _("Order %(no)s cannot go from %(src)s to %(dst)s.")
            % {
                "no": order.order_no,
                "src": S(order.status).label,
                "dst": S(to).label,
            },
            src=order.status,
            dst=to,
        )
    OrderEvent.objects.create(
        order=order,
        from_status=order.status,
        to_status=to,
        actor=actor,
        reason=reason[:300],
    )
    now = timezone.now()
    order.status = to
    fields = ["status", "updated_at", *also]
    if to == S.PAID and order.paid_at is None:  # a released hold keeps its time
        order.paid_at = now
        fields.append("paid_at")
    elif to == S.DELIVERED:
        order.delivered_at = now
        fields.append("delivered_at")
    order.save(update_fields=fields)
    if to in GIVES_BENEFITS_BACK:  # coupons, points, flash units (marketing)
        release_benefits(order_id=order.pk, reason=GIVES_BENEFITS_BACK[to])
    return order


# An order entering one of these states gives back what marketing's layers took.
GIVES_BENEFITS_BACK = {
    S.CANCELLED: benefits.CANCELLED,
    S.REFUNDED: benefits.REFUNDED,
    S.PARTIALLY_REFUNDED: benefits.PARTIALLY_REFUNDED,
}


def send_after_commit(signal, **kwargs) -> None:
    """Send `signal` (one of kameng.events, or an orders signal) once the current
    transaction has committed. Robust: a receiver that fails is logged and never
    turns a committed sale into an error page (paid work has its outbox row, and
    the sweepers re-enqueue what a lost message left behind).

    A signal in DEFERRED (order_paid) goes through its outbox instead: its row
    is written now, in the caller's transaction, so it commits or rolls back
    with the sale, and after commit the worker is woken to announce it
    (orders.paid_outbox). The sale's answer does not wait for what other apps
    do about it (growth, segments, coupons, points, referral), and a lost
    wake-up loses nothing: the beat sweep drains what is left."""
    deferral = DEFERRED.get(signal)
    if deferral is not None:
        deferral.write(kwargs)
        wake_after_commit(signal)
        return
    transaction.on_commit(lambda: signal.send(sender=Order, **kwargs), robust=True)


def wake_after_commit(signal) -> None:
    """After commit, wake the worker for a DEFERRED signal whose outbox row the
    caller's transaction already holds (send_after_commit wrote it, or
    orders.sale_sql's statement did)."""
    transaction.on_commit(DEFERRED[signal].wake, robust=True)


@dataclass(frozen=True)
class Deferral:
    write: Callable[[dict], None]  # in the caller's transaction: the outbox row
    wake: Callable[[], None]  # after commit: have the worker drain the outbox


# signal → Deferral; filled by orders.signals (whose wake queues a task: this
# module may not).
DEFERRED: dict = {}


def write_paid_announcement(kwargs: dict) -> None:
    """order_paid's outbox row (PaidAnnouncement), with the signal's payload:
    order_id, buyer_id, amount, payment_method, category_id. orders.sale_sql
    writes the same row in its third statement."""
    PaidAnnouncement.objects.create(created_at=timezone.now(), **kwargs)


def announce(signal, kwargs: dict) -> int:
    """Send a deferred signal now (in the worker, orders.paid_outbox); a failing
    receiver is logged, the others still run. Returns how many failed."""
    failed = 0
    for receiver, result in signal.send_robust(sender=Order, **kwargs):
        if isinstance(result, Exception):
            failed += 1
            logger.error(
                "receiver %s of %s failed for %s",
                getattr(receiver, "__qualname__", receiver),
                signal,
                kwargs,
                exc_info=result,
            )
    return failed


OPEN_TICKET_STATES = (
    Ticket.Status.OPEN,
    Ticket.Status.IN_PROGRESS,
    Ticket.Status.PENDING,
)


@transaction.atomic
def open_abnormal_ticket(*, order: Order, flag: str, message: str) -> Ticket:
    """Flag the order and open (or add to) its one open abnormal-order ticket.

    Safe under a race: the flag UPDATE locks the order row, so two callers of
    this function take turns; a ticket opened meanwhile another way (a staff
    member in the admin) makes our INSERT fail on orders_one_open_abnormal_ticket,
    which rolls back only its savepoint, and the message joins that ticket."""
    Order.objects.filter(pk=order.pk).update(flag=flag)
    subject = _("Order %(no)s: %(flag)s") % {
        "no": order.order_no,
        "flag": Order.Flag(flag).label,
    }
    for _attempt in range(3):
        ticket = Ticket.objects.filter(
            order=order, kind=Ticket.Kind.ABNORMAL, status__in=OPEN_TICKET_STATES
        ).first()
        if ticket is not None:
            break
        try:
            with transaction.atomic():  # a savepoint: losing the race undoes only this
                ticket = Ticket.objects.create(
                    kind=Ticket.Kind.ABNORMAL, order=order, subject=subject
                )
            break
        except IntegrityError:
            continue  # opened by someone else meanwhile: read theirs
    else:
        raise RuntimeError(f"no open abnormal ticket for order {order.pk}")
    TicketMessage.objects.create(ticket=ticket, body=message[:5000])
    return ticket
