"""Staff decide on orders held for a risk review (orders.risk holds them):
release one to be delivered now, or refuse it and refund the buyer. Either
decision names the staff member and their reason in the order's timeline."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from orders.exceptions import DeliveryRefused
from orders.fulfilment import deliver_on_payment
from orders.models import Order
from orders.refunds import refund_to_wallet
from orders.transitions import transition_order

S = Order.Status
REVIEW_PERMISSION = "orders.review_held_order"


def _locked_held(order: Order, actor, reason: str) -> tuple[Order, str]:
    if not actor.has_perm(REVIEW_PERMISSION):
        raise DeliveryRefused(_("You may not decide on held orders."))
    reason = reason.strip()
    if not reason:
        raise DeliveryRefused(_("Say why: it goes into the order's timeline."))
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("sku", "buyer")
        .get(pk=order.pk)
    )
    if order.status != S.HELD:
        raise DeliveryRefused(
            _("Order %(no)s is not held for review (it is %(status)s).")
            % {"no": order.order_no, "status": S(order.status).label}
        )
    return order, reason


@transaction.atomic
def release_held_order(*, order: Order, actor, reason: str) -> Order:
    """Deliver a held order now (card codes at once, a top-up to its supplier,
    a manual order to the staff queue). Sold out meanwhile: nothing changes and
    SoldOut says so (refuse it instead)."""
    order, reason = _locked_held(order, actor, reason)
    transition_order(
        order=order,
        to=S.PAID,
        actor=actor,
        reason=_("Released after review: %(reason)s") % {"reason": reason},
    )
    deliver_on_payment(order=order, actor=actor)
    return order


@transaction.atomic
def refuse_held_order(*, order: Order, actor, reason: str) -> Order:
    """Do not deliver a held order: the whole amount goes back to the buyer's
    wallet, with the reason the buyer reads on the order page."""
    order, reason = _locked_held(order, actor, reason)
    refund_to_wallet(
        order=order,
        actor=actor,
        reason=_("Not delivered after a risk review: %(reason)s") % {"reason": reason},
    )
    order.refresh_from_db()
    return order
