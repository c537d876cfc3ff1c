"""The coupon module's registration (imported once from MarketingConfig.ready):
the module switch, the price step at position 40, the checkout benefit and the
strategies' coupon issuer."""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.services.pricing import (
    LAYER_LABELS,
    QuoteContext,
    register_price_step,
)
from kameng.modules import Module, is_enabled, register_module
from marketing.benefits import Benefit, register_benefit
from marketing.coupons.issue import issue_for_strategy
from marketing.coupons.rules import ScopeIds, template_discount, why_not
from marketing.coupons.selectors import category_chain, scope_ids, target_for
from marketing.coupons.services import (
    CouponUnavailable,
    chosen_coupon_id,
    claim_coupon,
    release_coupon,
)
from marketing.hooks import register_coupon_issuer
from marketing.models import Coupon, CouponTemplate

COUPONS = register_module(
    Module(
        code="coupons",
        title=_("Coupons"),
        description=_(
            "Coupon templates, issuing, the buyer's coupons in the shop and the "
            "coupon layer at checkout. Switched off, the shop hides coupons and "
            "checkout takes none; issued coupons are kept."
        ),
        models=(
            "marketing.coupontemplate",
            "marketing.coupon",
            # bulk issuing, redeem codes and campaigns (issue 13, coupon issuing)
            "marketing.couponissuejob",
            "marketing.redeemcodebatch",
            "marketing.redeemcode",
            "marketing.couponcampaign",
        ),
        pages=(
            "marketing:coupon_named_issue",
            "marketing:coupon_report",
            "marketing:coupon_issue",
            "marketing:coupon_issue_job",
            "marketing:coupon_issue_progress",
            "marketing:redeem_batch_export",
        ),
        order=10,
    )
)


def coupon_price_step(ctx: QuoteContext) -> None:
    """Position 40: the chosen coupon (`options["coupon_id"]`) as an order-level
    layer. Applies nothing while the module is off or no coupon was chosen;
    a chosen coupon that does not apply refuses the quote with the reason
    (the buyer is never charged the full price by surprise); a preview
    (`options["coupon_preview"]`, the shop's quote fragment) leaves it out."""
    coupon_id = chosen_coupon_id(ctx.options)
    if coupon_id is None or not is_enabled(COUPONS.code):
        return
    buyer_id = getattr(ctx.buyer, "pk", None)
    if buyer_id is None:
        raise CouponUnavailable(gettext("Log in to use a coupon."))
    coupon = (
        Coupon.objects.select_related("template")
        .filter(pk=coupon_id, owner_id=buyer_id)
        .first()
    )
    if coupon is None:
        raise CouponUnavailable(gettext("This coupon is not yours."))
    template = coupon.template
    chain = (
        category_chain(ctx.sku.product.category_id)
        if template.scope == CouponTemplate.Scope.CATEGORIES
        else frozenset()
    )
    target = target_for(
        sku=ctx.sku,
        subtotal=ctx.total,
        layer_codes=[layer.code for layer in ctx.layers],
        at=ctx.at,
        chain=chain,
    )
    ids = scope_ids(template) if template.scope != "all" else ScopeIds()
    reason = why_not(coupon=coupon, scope_ids=ids, target=target)
    if reason is not None and ctx.options.get("coupon_preview"):
        return  # a price preview: shown without the coupon, checkout says why
    if reason is not None:
        raise CouponUnavailable(
            gettext("Coupon “%(name)s” cannot be used: %(reason)s")
            % {"name": template.name, "reason": reason},
            coupon_id=coupon_id,
        )
    ctx.take_off_total(
        "coupon",
        LAYER_LABELS["coupon"],
        template_discount(template, ctx.total),
        note=template.name,
    )


register_price_step(coupon_price_step, position=40)
register_benefit(
    Benefit(
        module=COUPONS.code,
        layers=("coupon",),
        claim=claim_coupon,
        release=release_coupon,
    )
)
register_coupon_issuer(issue_for_strategy)
