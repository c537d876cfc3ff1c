"""Coupons at checkout: the claim (one conditional UPDATE) and the release on
cancel or refund (marketing.benefits)."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext

from catalog.models import Sku
from catalog.services.pricing import PriceQuote, current_cost, to_money
from kameng.exceptions import DomainError
from marketing import benefits
from marketing.benefits import OrderRef
from marketing.models import Coupon


class CouponUnavailable(DomainError):
    """The coupon chosen at checkout cannot be used (any more)."""

    code = "marketing_coupon_unavailable"


def chosen_coupon_id(options: Mapping | None) -> int | None:
    value = (options or {}).get("coupon_id")
    if value in (None, "", 0, "0"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise CouponUnavailable(gettext("This coupon cannot be used."))


def claim_coupon(*, order: OrderRef, quote: PriceQuote, options: Mapping) -> None:
    """Mark the order's coupon used, in the order's transaction: one conditional
    UPDATE (available → used). 0 rows means another checkout used it first:
    the DomainError refuses this order (nothing written, nothing charged)."""
    layer = next((layer for layer in quote.layers if layer.code == "coupon"), None)
    coupon_id = chosen_coupon_id(options)
    if layer is None or coupon_id is None:
        return
    sku = Sku.objects.get(pk=order.sku_id)
    cost = to_money(current_cost(sku=sku) * order.quantity)
    changed = Coupon.objects.filter(
        pk=coupon_id,
        owner_id=order.buyer_id,
        status=Coupon.Status.AVAILABLE,
        valid_from__lte=order.at,
        valid_until__gt=order.at,
    ).update(
        status=Coupon.Status.USED,
        order_id=order.order_id,
        used_at=order.at,
        order_amount=order.amount,
        discount=layer.amount_off,
        cost_amount=cost,
    )
    if changed == 0:
        raise CouponUnavailable(
            gettext(
                "This coupon has just been used on another order. Nothing was "
                "charged: please choose again."
            ),
            coupon_id=coupon_id,
        )


def release_coupon(*, order_id: int, reason: str) -> int:
    """Give an order's coupon back per its template's rule: a cancelled order
    always, a refunded one when the template says so (a partial refund keeps
    it used). Idempotent: the second call finds no used coupon on the order.
    A coupon given back after its validity shows as expired."""
    used = Coupon.objects.filter(order_id=order_id, status=Coupon.Status.USED)
    if reason == benefits.REFUNDED:
        used = used.filter(template__return_on_refund=True)
    elif reason != benefits.CANCELLED:
        return 0
    return used.update(
        status=Coupon.Status.AVAILABLE,
        order_id=None,
        used_at=None,
        order_amount=None,
        discount=None,
        cost_amount=None,
    )
