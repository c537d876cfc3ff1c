"""Coupon reads: a buyer's coupons, which apply to a purchase (and why not),
the best one, the report per template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext

from catalog.models import Category, Sku
from catalog.services.pricing import PriceQuote, quote_price
from marketing.coupons.rules import (
    ZERO,
    ScopeIds,
    Target,
    template_discount,
    why_not,
)
from marketing.models import Coupon, CouponTemplate

Scope = CouponTemplate.Scope


def category_chain(category_id: int | None) -> frozenset[int]:
    """The category and its ancestors (a category scope covers its subtree)."""
    chain: set[int] = set()
    while category_id is not None and category_id not in chain:
        chain.add(category_id)
        category_id = (
            Category.objects.filter(pk=category_id)
            .values_list("parent_id", flat=True)
            .first()
        )
    return frozenset(chain)


def scope_ids(template: CouponTemplate) -> ScopeIds:
    """The ids the template's scope names (prefetched ones when there)."""
    if template.scope == Scope.CATEGORIES:
        return ScopeIds(categories=frozenset(c.pk for c in template.categories.all()))
    if template.scope == Scope.PRODUCTS:
        return ScopeIds(products=frozenset(p.pk for p in template.products.all()))
    if template.scope == Scope.SKUS:
        return ScopeIds(skus=frozenset(s.pk for s in template.skus.all()))
    return ScopeIds()


def target_for(
    *, sku: Sku, subtotal: Decimal, layer_codes, at: datetime, chain=None
) -> Target:
    return Target(
        sku_id=sku.pk,
        product_id=sku.product_id,
        category_ids=chain
        if chain is not None
        else category_chain(sku.product.category_id),
        subtotal=subtotal,
        layer_codes=frozenset(layer_codes),
        at=at,
    )


def wallet_of(*, buyer, tab: str, at: datetime | None = None) -> QuerySet[Coupon]:
    """ "My coupons": available (still valid), used, expired (not used in time)."""
    at = at or timezone.now()
    mine = Coupon.objects.filter(owner=buyer).select_related("template")
    if tab == "used":
        return mine.filter(status=Coupon.Status.USED).order_by("-used_at", "-pk")
    if tab == "expired":
        return mine.filter(
            status=Coupon.Status.AVAILABLE, valid_until__lte=at
        ).order_by("-valid_until", "-pk")
    return mine.filter(status=Coupon.Status.AVAILABLE, valid_until__gt=at).order_by(
        "valid_until", "pk"
    )


@dataclass(frozen=True)
class CouponChoice:
    coupon: Coupon
    discount: Decimal  # what it takes off this purchase (0 when it does not apply)
    reason: str | None  # why it does not apply, None when it does

    @property
    def applies(self) -> bool:
        return self.reason is None


def base_quote(*, sku: Sku, buyer, quantity: int, at: datetime) -> PriceQuote:
    """The quote without any coupon (what a coupon is measured against)."""
    return quote_price(sku=sku, buyer=buyer, quantity=quantity, at=at, options={})


def choices_for(
    *, buyer, sku: Sku, quantity: int, at: datetime | None = None
) -> list[CouponChoice]:
    """Each of the buyer's unused, unexpired coupons for this purchase: what it
    takes off, or why it does not apply. Best first (largest discount, then the
    one that expires first)."""
    at = at or timezone.now()
    if buyer is None or not getattr(buyer, "pk", None):
        return []
    coupons = list(
        Coupon.objects.filter(
            owner=buyer, status=Coupon.Status.AVAILABLE, valid_until__gt=at
        )
        .select_related("template")
        .prefetch_related(
            "template__categories", "template__products", "template__skus"
        )
        .order_by("valid_until", "pk")[:200]
    )
    if not coupons:
        return []
    quote = base_quote(sku=sku, buyer=buyer, quantity=quantity, at=at)
    target = target_for(
        sku=sku, subtotal=quote.total, layer_codes=quote.layer_codes, at=at
    )
    choices = []
    for coupon in coupons:
        reason = why_not(
            coupon=coupon, scope_ids=scope_ids(coupon.template), target=target
        )
        discount = (
            template_discount(coupon.template, target.subtotal)
            if reason is None
            else ZERO
        )
        choices.append(CouponChoice(coupon=coupon, discount=discount, reason=reason))
    choices.sort(key=lambda c: (-c.discount, c.coupon.valid_until, c.coupon.pk))
    return choices


def best_coupon(
    *, buyer, sku: Sku, quantity: int, at: datetime | None = None
) -> Coupon | None:
    """The applicable coupon that takes the most off (ties: earliest expiry)."""
    for choice in choices_for(buyer=buyer, sku=sku, quantity=quantity, at=at):
        return choice.coupon if choice.applies else None
    return None


# --- report ------------------------------------------------------------------------


def template_report(*, templates: QuerySet[CouponTemplate] | None = None) -> list[dict]:
    """Per template: issued, used, GMV driven (what orders that used it paid),
    discount cost, cost of goods and profit after discount. One grouped query."""
    templates = templates if templates is not None else CouponTemplate.objects.all()
    used = Q(status=Coupon.Status.USED)
    figures = {
        row["template"]: row
        for row in Coupon.objects.filter(template__in=templates)
        .values("template")
        .annotate(
            issued=Count("pk"),
            used=Count("pk", filter=used),
            gmv=Sum("order_amount", filter=used),
            discount_cost=Sum("discount", filter=used),
            goods_cost=Sum("cost_amount", filter=used),
        )
        .order_by()
    }
    rows = []
    for template in templates.order_by("-pk"):
        row = figures.get(template.pk, {})
        gmv = row.get("gmv") or ZERO
        goods_cost = row.get("goods_cost") or ZERO
        rows.append(
            {
                "template": template,
                "issued": row.get("issued", 0),
                "used": row.get("used", 0),
                "gmv": gmv,
                "discount_cost": row.get("discount_cost") or ZERO,
                "goods_cost": goods_cost,
                "profit": gmv - goods_cost,
            }
        )
    return rows


def scope_words(template: CouponTemplate) -> str:
    """Where the coupon applies, in words (uses prefetched scope rows)."""
    if template.scope == Scope.CATEGORIES:
        names = [category.name for category in template.categories.all()]
    elif template.scope == Scope.PRODUCTS:
        names = [product.name for product in template.products.all()]
    elif template.scope == Scope.SKUS:
        names = [sku.name for sku in template.skus.all()]
    else:
        return gettext("Every product")
    shown = "、".join(names[:5])
    if len(names) > 5:
        shown += gettext(" and %(n)s more") % {"n": len(names) - 5}
    return gettext("Only for: %(names)s") % {"names": shown or "—"}
