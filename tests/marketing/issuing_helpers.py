"""Test data for coupon issuing: a template, buyers in a segment."""

from decimal import Decimal
from itertools import count

from marketing.models import CouponTemplate, Segment
from marketing.services import refresh_segment
from tests.marketing.factories import buyer_with

_seq = count(1)


def make_template(**fields) -> CouponTemplate:
    values = {
        "name": f"无门槛券{next(_seq)}",
        "kind": CouponTemplate.Kind.NO_THRESHOLD,
        "amount": Decimal("5.00"),
        "threshold": Decimal("0.00"),
        "valid_days": 30,
        **fields,
    }
    return CouponTemplate.objects.create(**values)


def new_buyers_segment(size: int) -> tuple[Segment, list]:
    """The built-in "new buyers" segment with `size` fresh members."""
    buyers = [buyer_with(joined_days_ago=1) for _ in range(size)]
    segment = Segment.objects.get(builtin=Segment.Builtin.NEW)
    refresh_segment(segment=segment)
    return segment, buyers
