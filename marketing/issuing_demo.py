"""Demo coupon issuing (seed_demo, from marketing.demo): the signup gift and
the 30-day win-back switched on with the demo templates, a batch of redeem
codes to export and try on the shop, and birthdays for two demo buyers (one
of them today). Re-seeding makes nothing twice."""

from datetime import date, timedelta

from django.utils import timezone

from marketing.campaigns import campaigns_changed, ensure_campaigns
from marketing.models import CouponCampaign, CouponTemplate, RedeemCodeBatch
from marketing.redeem_codes import create_redeem_batch
from users.models import User

REDEEM_BATCH = "演示兑换码（门店海报）"


def seed_coupon_issuing() -> None:
    ensure_campaigns()
    gifts = {
        CouponCampaign.Kind.SIGNUP: "无门槛减3元",
        CouponCampaign.Kind.WINBACK: "满50减10",
        CouponCampaign.Kind.BIRTHDAY: "满50减10",
    }
    for kind, name in gifts.items():
        template = CouponTemplate.objects.filter(name=name, active=True).first()
        if template is not None:
            CouponCampaign.objects.filter(kind=kind, template=None).update(
                enabled=True, template=template
            )
    campaigns_changed()
    template = CouponTemplate.objects.filter(name="无门槛减3元").first()
    if (
        template is not None
        and not RedeemCodeBatch.objects.filter(name=REDEEM_BATCH).exists()
    ):
        create_redeem_batch(
            template=template,
            name=REDEEM_BATCH,
            prefix="DEMO",
            count=20,
            expires_at=timezone.now() + timedelta(days=90),
        )
    today = timezone.localdate()
    born_today = date(1996, today.month, today.day)  # 1996: a leap year
    buyers = User.objects.filter(
        is_staff=False, username__startswith="buyer", birthday=None
    ).order_by("pk")
    for buyer, born in zip(buyers[:2], (born_today, date(1990, 5, 1)), strict=False):
        User.objects.filter(pk=buyer.pk).update(birthday=born)
