"""Coupon test data, reached through the real services."""

from datetime import timedelta
from decimal import Decimal
from itertools import count

from django.utils import timezone

from marketing.coupons.issue import issue_coupons
from marketing.models import Coupon, CouponTemplate

_seq = count(1)
D = Decimal


def make_template(**fields) -> CouponTemplate:
    """满50减10, valid 30 days after issue, unless told otherwise."""
    fields.setdefault("name", f"满50减10 #{next(_seq)}")
    fields.setdefault("kind", CouponTemplate.Kind.AMOUNT_OFF)
    if fields["kind"] == CouponTemplate.Kind.AMOUNT_OFF:
        fields.setdefault("amount", D("10.00"))
        fields.setdefault("threshold", D("50.00"))
    elif fields["kind"] == CouponTemplate.Kind.NO_THRESHOLD:
        fields.setdefault("amount", D("5.00"))
    else:
        fields.setdefault("percent", D("20"))
        fields.setdefault("cap", D("15.00"))
    if "valid_from" not in fields:
        fields.setdefault("valid_days", 30)
    scope = {name: fields.pop(name, ()) for name in ("categories", "products", "skus")}
    template = CouponTemplate.objects.create(**fields)
    for name, rows in scope.items():
        if rows:
            getattr(template, name).set(rows)
    return template


def give(template: CouponTemplate, buyer, key: str = "test") -> Coupon:
    """One coupon of `template` in `buyer`'s hands."""
    issued = issue_coupons(
        template=template,
        user_ids=[buyer.pk],
        source=Coupon.Source.MANUAL,
        issue_key=f"{key} {next(_seq)}",
    )
    assert issued == 1
    return Coupon.objects.filter(template=template, owner=buyer).latest("pk")


def fixed_dates(days_from: int, days_until: int) -> dict:
    now = timezone.now()
    return {
        "valid_from": now + timedelta(days=days_from),
        "valid_until": now + timedelta(days=days_until),
    }
