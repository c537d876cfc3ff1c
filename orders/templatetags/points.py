"""Points (积分) on shop pages that other slices own: the "use points" field on
a product page, the review form on an order page, approved reviews on a
product page and expiry notices on the account page. Each shows nothing
while the module is switched off."""

from decimal import Decimal

from django import template

from kameng.modules import is_enabled
from marketing import points
from orders.points_mall import can_review
from orders.storefront.points import ReviewForm

register = template.Library()


@register.inclusion_tag("shop/_points_use.html", takes_context=True)
def points_use(context, form, quote, sku):
    """Balance and the most points usable on the quote (before its points)."""
    buyer = context.get("user")
    if quote is None or not getattr(buyer, "is_authenticated", False):
        return {"offer": None}
    total = quote.total + sum(
        (layer.amount_off for layer in quote.layers if layer.code == points.CODE),
        start=Decimal("0.00"),
    )
    return {
        "offer": points.offer_for(buyer=buyer, total=total),
        "form": form,
        "sku": sku,
    }


@register.inclusion_tag("shop/_order_review.html", takes_context=True)
def order_review(context, order):
    buyer = context.get("user")
    if not is_enabled(points.CODE) or order.buyer_id is None:
        return {}
    if not getattr(buyer, "is_authenticated", False) or order.buyer_id != buyer.pk:
        return {}
    # the order page reads whether there is one with the order (has_review)
    has_review = getattr(order, "has_review", True)
    review = points.review_for_order(order.pk) if has_review else None
    if review is not None:
        return {"review": review}
    if not can_review(order, buyer=buyer):
        return {}
    return {
        # the unbound form's fields as declared: an instance would deep-copy
        # them (and their choices) only to be read (issue 12)
        "fields": ReviewForm.base_fields,
        "order": order,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("shop/_product_reviews.html")
def product_reviews(product):
    return {"reviews": points.shown_reviews(product_id=product.pk)}


@register.inclusion_tag("shop/_points_notices.html", takes_context=True)
def points_notices(context):
    buyer = context.get("user")
    if not getattr(buyer, "is_authenticated", False):
        return {"notices": []}
    return {"notices": points.open_notices(account=points.account_for(buyer))}
