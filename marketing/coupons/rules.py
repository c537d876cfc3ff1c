"""What a coupon takes off and why it does not apply: pure functions, no
database. Pages, the price step and the tests all call these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from marketing.models import Coupon, CouponTemplate

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
Kind = CouponTemplate.Kind
Scope = CouponTemplate.Scope


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def coupon_discount(
    *,
    kind: str,
    subtotal: Decimal,
    amount: Decimal | None = None,
    threshold: Decimal = ZERO,
    percent: Decimal | None = None,
    cap: Decimal | None = None,
) -> Decimal:
    """How much the coupon takes off `subtotal` (0.00 when it does not apply).

    满减: `amount` once the subtotal reaches `threshold`; 折扣: `percent` of the
    subtotal (rounded half up to the cent), at most `cap`, from `threshold` on;
    无门槛: `amount`. The total never drops below ¥0.01."""
    subtotal = money(subtotal)
    if subtotal < money(threshold or ZERO):
        return ZERO
    if kind == Kind.PERCENT_OFF:
        off = money(subtotal * Decimal(percent) / 100)
        if cap is not None:
            off = min(off, money(cap))
    elif kind in (Kind.AMOUNT_OFF, Kind.NO_THRESHOLD):
        off = money(amount)
    else:
        raise ValueError(f"unknown coupon kind {kind!r}")
    return max(min(off, subtotal - CENT), ZERO)


def template_discount(template: CouponTemplate, subtotal: Decimal) -> Decimal:
    return coupon_discount(
        kind=template.kind,
        subtotal=subtotal,
        amount=template.amount,
        threshold=template.threshold,
        percent=template.percent,
        cap=template.cap,
    )


@dataclass(frozen=True)
class Target:
    """What a coupon is tested against: one SKU at a quote's subtotal (after the
    unit-price layers) with those layers' codes, at a time."""

    sku_id: int
    product_id: int
    category_ids: frozenset[int]  # the product's category and its ancestors
    subtotal: Decimal
    layer_codes: frozenset[str]
    at: datetime


@dataclass(frozen=True)
class ScopeIds:
    categories: frozenset[int] = frozenset()
    products: frozenset[int] = frozenset()
    skus: frozenset[int] = frozenset()


def in_scope(template: CouponTemplate, scope_ids: ScopeIds, target: Target) -> bool:
    if template.scope == Scope.CATEGORIES:
        return bool(scope_ids.categories & target.category_ids)
    if template.scope == Scope.PRODUCTS:
        return target.product_id in scope_ids.products
    if template.scope == Scope.SKUS:
        return target.sku_id in scope_ids.skus
    return True


def local_time(value: datetime) -> str:
    return date_format(timezone.localtime(value), "Y-m-d H:i")


def why_not(*, coupon: Coupon, scope_ids: ScopeIds, target: Target) -> str | None:
    """Why `coupon` does not apply to `target`, in words a buyer reads; None
    when it applies. The first reason that holds is given."""
    template = coupon.template
    if coupon.status == Coupon.Status.USED:
        return gettext("Already used.")
    if coupon.status == Coupon.Status.VOID:
        return gettext("This coupon was withdrawn.")
    if target.at < coupon.valid_from:
        return gettext("Usable from %(at)s.") % {"at": local_time(coupon.valid_from)}
    if target.at >= coupon.valid_until:
        return gettext("Expired on %(at)s.") % {"at": local_time(coupon.valid_until)}
    if not in_scope(template, scope_ids, target):
        return gettext("Not valid for this item.")
    if "member_level" in target.layer_codes and not template.stacks_with_member_price:
        return gettext("Does not stack with your member-level price.")
    if "flash_sale" in target.layer_codes and not template.stacks_with_flash_sale:
        return gettext("Does not stack with the flash sale.")
    if template.threshold and target.subtotal < template.threshold:
        return gettext("¥%(short)s more to use it.") % {
            "short": money(template.threshold - target.subtotal)
        }
    if template_discount(template, target.subtotal) <= 0:
        return gettext("Takes nothing off this order.")
    return None


def describe_value(template: CouponTemplate) -> str:
    """满50减10 / 85折 最多减20 / 无门槛减5, in words."""
    if template.kind == Kind.AMOUNT_OFF:
        return gettext("¥%(amount)s off orders from ¥%(threshold)s") % {
            "amount": template.amount,
            "threshold": template.threshold,
        }
    if template.kind == Kind.PERCENT_OFF:
        text = gettext("%(percent)s%% off, at most ¥%(cap)s") % {
            "percent": format(template.percent.normalize(), "f"),
            "cap": template.cap,
        }
        if template.threshold:
            text += gettext(", from ¥%(threshold)s") % {"threshold": template.threshold}
        return text
    return gettext("¥%(amount)s off, no threshold") % {"amount": template.amount}


def describe_stacking(template: CouponTemplate) -> str:
    """The stacking rule in one sentence (template page, shop)."""
    member = template.stacks_with_member_price
    flash = template.stacks_with_flash_sale
    if member and flash:
        return gettext("Applies on top of member-level prices and flash-sale prices.")
    if member:
        return gettext(
            "Applies on top of member-level prices; not usable on a flash-sale item."
        )
    if flash:
        return gettext(
            "Applies on top of flash-sale prices; not usable when a member-level "
            "price applies."
        )
    return gettext(
        "Only at the normal price: not usable when a member-level price or a "
        "flash sale applies."
    )


def describe_returns(template: CouponTemplate) -> str:
    if template.return_on_refund:
        return gettext(
            "A cancelled or refunded order gives the coupon back while it is valid."
        )
    return gettext(
        "A cancelled order gives the coupon back while it is valid; a refunded "
        "one does not."
    )
