"""Group buy (拼团, issue 13), orders' side: a paid group order waits for its
group; the group full, every member's order is delivered; the deadline passed,
every member is refunded.

The wait is an order state, WAITING_GROUP (等待成团), in the transition table
(PAID → WAITING_GROUP → PAID or REFUNDED), like a risk hold (HELD):

- `deliver_on_payment` (orders.fulfilment), in the paying transaction, after
  the risk hold, asks `hold_for_group`. A group order whose group is not full
  moves to WAITING_GROUP and nothing is delivered: no card code is taken, no
  top-up outbox row is written, no manual order enters the staff queue. A
  waiting order is not PAID, so nothing that looks for paid orders (the staff
  queue, the top-up sweeper, which only works Fulfilment rows) touches it.
- The payment that fills the group (marketing.group_buy.seat_paid, under the
  group's row lock) moves every other member's order back to PAID and
  `deliver_on_payment` delivers each, then this one: the normal delivery.
  Card codes short at that moment refuse the filling payment (SoldOut rolls
  it back): the group stays open with its paid members.
- `refund_expired_groups` (beat, every minute) fails each open group past
  its deadline and refunds every member to the wallet in the same
  transaction, with the reason the buyer reads on the order page. Run twice,
  it finds no open expired group: nothing is refunded twice.

Lock order: a group's row, then its members' orders (payment, fill, beat).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from marketing.group_buy import (
    expired_group_ids,
    fail_group,
    is_group_order,
    seat_paid,
)
from orders.models import Order
from orders.refunds import refund_to_wallet, refundable_left
from orders.transitions import transition_order

S = Order.Status


def failed_reason() -> str:
    """What the buyer reads on the order page (refund reason, timeline)."""
    return _("The group did not fill in time: refunded automatically.")


@dataclass
class GroupSeat:
    held: bool  # this order waits (or was refunded): deliver nothing now
    # The other members' orders, back to PAID: the group filled with this payment.
    released: list[Order] = field(default_factory=list)


NOT_HELD = GroupSeat(held=False)


def hold_for_group(*, order: Order, actor=None) -> GroupSeat:
    """Inside the paying transaction, the order locked and just PAID: a group
    order whose group is not full waits (PAID → WAITING_GROUP, held=True). The
    payment that fills the group releases the other members' orders (back to
    PAID) for the caller to deliver, then this one is delivered as usual."""
    if not is_group_order(order.price_breakdown):
        return NOT_HELD  # not a group order: no query
    outcome = seat_paid(order_id=order.pk)
    if outcome.state == "waiting":
        transition_order(
            order=order,
            to=S.WAITING_GROUP,
            actor=actor,
            reason=_("Waiting for the group to fill"),
        )
        return GroupSeat(held=True)
    if outcome.state == "failed":  # paid after its group failed: money back now
        refund_to_wallet(order=order, actor=actor, reason=failed_reason())
        order.refresh_from_db()
        return GroupSeat(held=True)
    if not outcome.deliver_order_ids:
        return NOT_HELD
    released = list(
        Order.objects.select_for_update(of=("self",))
        .select_related("sku__product", "buyer")
        .filter(pk__in=outcome.deliver_order_ids, status=S.WAITING_GROUP)
        .order_by("pk")
    )
    for member in released:
        transition_order(
            order=member, to=S.PAID, actor=actor, reason=_("The group is full")
        )
    return GroupSeat(held=False, released=released)


def refund_expired_groups(*, now: datetime | None = None) -> int:
    """The beat task: fail every open group past its deadline and refund its
    members. Returns how many orders were refunded. Idempotent."""
    refunded = 0
    while True:
        group_ids = expired_group_ids(now=now)
        if not group_ids:
            return refunded
        done = 0
        for group_id in group_ids:
            result = refund_failed_group(group_id=group_id, now=now)
            if result is not None:
                done += 1
                refunded += result
        if done == 0:  # all held by another worker: it refunds them
            return refunded


@transaction.atomic
def refund_failed_group(*, group_id: int, now: datetime | None = None) -> int | None:
    """Fail one expired group and refund its members in one transaction: each
    paid member's order back to their wallet (the reason on the order page),
    an unpaid one cancelled. None when there was nothing to do."""
    order_ids = fail_group(group_id=group_id, now=now)
    if order_ids is None:
        return None
    reason = failed_reason()
    refunded = 0
    for order in (
        Order.objects.select_for_update(of=("self",))
        .select_related("buyer")
        .filter(pk__in=order_ids)
        .order_by("pk")
    ):
        if order.status == S.PENDING_PAYMENT:
            transition_order(order=order, to=S.CANCELLED, reason=reason)
        elif order.status in (S.WAITING_GROUP, S.HELD) and refundable_left(order) > 0:
            refund_to_wallet(order=order, reason=reason)
            refunded += 1
    return refunded
