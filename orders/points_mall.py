"""The orders side of points (积分, marketing.points): redeeming a points-mall
item, and a buyer's review of a delivered order.

Redeeming is one transaction: the order (amount 0.00, paid with points), the
points debited (marketing.points.spend_in_mall), the order marked paid and
delivered the normal way (orders.fulfilment.deliver_on_payment). Sold out, not
enough points, the module off or a blacklisted buyer: it all rolls back,
nothing debited, no order left behind. Cancelled or refunded later, the order
gives its points back through marketing.benefits' release like any order.

Reviews live in marketing (PointsReview, keyed by the order's id: marketing
never reads orders); this module is where the order is checked: the buyer's
own, delivered.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product
from kameng import events
from kameng.exceptions import DomainError
from kameng.modules import is_enabled
from marketing.models import PointsMallItem, PointsReview
from marketing.points import CODE, spend_in_mall, submit_review
from orders.exceptions import CheckoutRefused
from orders.fulfilment import deliver_on_payment
from orders.models import Order, new_order_no
from orders.risk import refuse_if_blacklisted
from orders.transitions import send_after_commit, transition_order

S = Order.Status
ZERO = Decimal("0.00")


def _mall_order(*, item: PointsMallItem, buyer, now) -> Order:
    sku = item.sku
    breakdown = {
        "sku_id": sku.pk,
        "quantity": 1,
        "at": now.isoformat(),
        "unit_price": str(sku.price),
        "total": str(ZERO),
        "points": item.points,
        "layers": [
            {
                "code": "base",
                "label": str(_("Base price")),
                "unit_price": str(sku.price),
                "note": "",
            },
            {
                "code": CODE,
                "label": str(_("Points mall")),
                "unit_price": str(sku.price),
                "note": _("%(n)s points") % {"n": item.points},
                "amount_off": str(sku.price),
            },
        ],
    }
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Order.objects.create(
                    order_no=new_order_no(now),
                    buyer=buyer,
                    sku=sku,
                    quantity=1,
                    unit_price=sku.price,
                    amount=ZERO,
                    price_breakdown=breakdown,
                    payment_method=Order.PaymentMethod.POINTS,
                )
        except IntegrityError:
            continue  # an order number drawn twice: draw again
    raise RuntimeError("could not draw a free order number")


def redeem_mall_item(*, item_id: int, buyer, ip: str = "") -> Order:
    """Buy one of the mall item's SKU with points, delivered like any order.
    Raises CheckoutRefused with the reason; nothing is written then."""
    if buyer is None or not getattr(buyer, "pk", None):
        raise CheckoutRefused(_("Log in to redeem points."))
    if not is_enabled(CODE):
        raise CheckoutRefused(_("Points are switched off."))
    refuse_if_blacklisted(buyer=buyer, contact="", ip=ip, recharge_account={})
    now = timezone.now()
    try:
        with transaction.atomic():
            item = (
                PointsMallItem.objects.select_related("sku__product")
                .filter(pk=item_id)
                .first()
            )
            sku = item.sku if item is not None else None
            if (
                item is None
                or not item.is_active
                or not sku.is_active
                or sku.product.status != Product.Status.LISTED
            ):
                raise CheckoutRefused(_("This item is not on offer right now."))
            if sku.recharge_fields:
                raise CheckoutRefused(_("This item cannot be redeemed with points."))
            order = _mall_order(item=item, buyer=buyer, now=now)
            spend_in_mall(
                buyer=buyer, item=item, order_id=order.pk, order_no=order.order_no
            )
            transition_order(order=order, to=S.PAID, actor=buyer, reason="points")
            deliver_on_payment(order=order, actor=buyer)
            send_after_commit(
                events.order_paid,
                order_id=order.pk,
                buyer_id=buyer.pk,
                amount=order.amount,
                payment_method=order.payment_method,
                category_id=sku.product.category_id,
            )
            return order
    except CheckoutRefused:
        raise
    except DomainError as exc:  # not enough points, sold out
        raise CheckoutRefused(exc.message, **exc.extra) from exc


# --- reviews -------------------------------------------------------------------------


def can_review(order: Order, *, buyer) -> bool:
    """The order page offers the review form: the buyer's own delivered order,
    points on, not reviewed yet (the caller passes whether one exists)."""
    return (
        buyer is not None
        and order.buyer_id == getattr(buyer, "pk", None)
        and order.status == S.DELIVERED
        and is_enabled(CODE)
    )


@transaction.atomic
def review_order(*, order: Order, buyer, stars, text: str) -> PointsReview:
    """The buyer's review of their own delivered order (DomainError otherwise)."""
    order = Order.objects.select_related("sku").get(pk=order.pk)
    if order.buyer_id is None or order.buyer_id != getattr(buyer, "pk", None):
        raise CheckoutRefused(_("Only the buyer may review this order."))
    if order.status != S.DELIVERED:
        raise CheckoutRefused(_("Only delivered orders can be reviewed."))
    return submit_review(
        order_id=order.pk,
        order_no=order.order_no,
        buyer=buyer,
        product_id=order.sku.product_id,
        stars=stars,
        text=text,
    )
