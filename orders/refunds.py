"""Money back to the buyer: refunds to the wallet (guests: through the gateway,
by finance). Builds on orders.transitions only."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from kameng import events
from orders.exceptions import RefundRefused
from orders.models import Order
from orders.transitions import send_after_commit, transition_order
from users.models import LedgerEntry
from users.services import credit_wallet

S = Order.Status


@transaction.atomic
def refund_to_wallet(
    *, order: Order, actor=None, amount: Decimal | None = None, reason: str
) -> Order:
    """Give money back to the buyer's wallet, at most what is left to refund.
    The order row is locked, so two refunds racing each other pay out once."""
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("buyer")
        .get(pk=order.pk)
    )
    if order.buyer_id is None:
        raise RefundRefused(_("Guest orders are refunded through the gateway."))
    left = order.amount - order.refunded_amount
    amount = left if amount is None else amount
    if amount <= 0 or amount > left:
        raise RefundRefused(
            _("Refund must be more than 0 and at most %(left)s.") % {"left": left}
        )
    credit_wallet(
        user=order.buyer,
        amount=amount,
        kind=LedgerEntry.Kind.REFUND,
        reference=order.order_no,
        note=reason[:255],
        actor=actor,
    )
    order.refunded_amount += amount
    full = order.refunded_amount == order.amount
    to = S.REFUNDED if full else S.PARTIALLY_REFUNDED
    if order.status != to:
        transition_order(
            order=order, to=to, actor=actor, reason=reason, also=("refunded_amount",)
        )
    else:
        order.save(update_fields=["refunded_amount"])
    send_after_commit(events.order_refunded, order_id=order.pk, amount=amount)
    return order
