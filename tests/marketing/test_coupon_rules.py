"""Coupon arithmetic and the reasons a coupon does not apply (pure rules)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from marketing.coupons.rules import (
    ScopeIds,
    Target,
    coupon_discount,
    describe_stacking,
    describe_value,
    why_not,
)
from marketing.models import Coupon, CouponTemplate

D = Decimal
K = CouponTemplate.Kind


@pytest.mark.parametrize(
    "subtotal, expected",
    [
        ("49.99", "0.00"),  # one cent short of the threshold
        ("50.00", "10.00"),  # at the threshold
        ("50.01", "10.00"),
        ("120.00", "10.00"),
        ("0.01", "0.00"),
    ],
)
def test_amount_off_applies_from_the_threshold(subtotal, expected):
    off = coupon_discount(
        kind=K.AMOUNT_OFF, subtotal=D(subtotal), amount=D("10"), threshold=D("50")
    )
    assert off == D(expected)


@pytest.mark.parametrize(
    "subtotal, expected",
    [
        ("10.00", "2.00"),  # 20% of 10
        ("74.99", "15.00"),  # 14.998 rounds half up to 15.00: at the cap
        ("74.97", "14.99"),  # 14.994 rounds to 14.99
        ("74.98", "15.00"),  # 14.996 → 15.00
        ("75.00", "15.00"),  # exactly the cap
        ("75.01", "15.00"),  # above: capped
        ("1000.00", "15.00"),
        ("0.02", "0.00"),  # 0.004 rounds to 0.00
        ("0.03", "0.01"),  # 0.006 rounds to 0.01
    ],
)
def test_percent_off_rounds_half_up_and_stops_at_the_cap(subtotal, expected):
    off = coupon_discount(
        kind=K.PERCENT_OFF, subtotal=D(subtotal), percent=D("20"), cap=D("15")
    )
    assert off == D(expected)


@pytest.mark.parametrize(
    "subtotal, expected",
    [("29.99", "0.00"), ("30.00", "4.50"), ("100.00", "8.00")],
)
def test_percent_off_with_a_threshold(subtotal, expected):
    off = coupon_discount(
        kind=K.PERCENT_OFF,
        subtotal=D(subtotal),
        percent=D("15"),
        cap=D("8"),
        threshold=D("30"),
    )
    assert off == D(expected)


@pytest.mark.parametrize(
    "subtotal, expected",
    [
        ("0.01", "0.00"),  # the total never drops below ¥0.01
        ("3.00", "2.99"),
        ("5.00", "4.99"),
        ("5.01", "5.00"),
        ("88.00", "5.00"),
    ],
)
def test_no_threshold_never_takes_the_total_below_a_cent(subtotal, expected):
    off = coupon_discount(kind=K.NO_THRESHOLD, subtotal=D(subtotal), amount=D("5"))
    assert off == D(expected)


def _coupon(template, **fields):
    now = timezone.now()
    fields.setdefault("valid_from", now - timedelta(days=1))
    fields.setdefault("valid_until", now + timedelta(days=1))
    fields.setdefault("status", Coupon.Status.AVAILABLE)
    return Coupon(template=template, **fields)


def _target(subtotal="60.00", layers=("base",), at=None, sku_id=1, product_id=2):
    return Target(
        sku_id=sku_id,
        product_id=product_id,
        category_ids=frozenset({7, 3}),
        subtotal=D(subtotal),
        layer_codes=frozenset(layers),
        at=at or timezone.now(),
    )


def _template(**fields):
    fields.setdefault("name", "满50减10")
    fields.setdefault("kind", K.AMOUNT_OFF)
    fields.setdefault("amount", D("10.00"))
    fields.setdefault("threshold", D("50.00"))
    return CouponTemplate(**fields)


@pytest.mark.parametrize(
    "subtotal, reason",
    [
        ("37.50", "差 ¥12.50 可用"),
        ("49.99", "差 ¥0.01 可用"),
        ("50.00", None),
    ],
)
def test_why_not_says_how_much_is_missing(subtotal, reason):
    coupon = _coupon(_template())
    assert why_not(coupon=coupon, scope_ids=ScopeIds(), target=_target(subtotal)) == (
        reason
    )


def test_why_not_in_chinese_names_the_shortfall():
    with translation.override("zh-hans"):
        coupon = _coupon(_template())
        text = why_not(coupon=coupon, scope_ids=ScopeIds(), target=_target("37.50"))
    assert text == "差 ¥12.50 可用"


def test_why_not_checks_state_validity_scope_and_stacking():
    now = timezone.now()
    template = _template()
    ok = _target()
    used = _coupon(template, status=Coupon.Status.USED)
    assert why_not(coupon=used, scope_ids=ScopeIds(), target=ok) == "已使用。"
    later = _coupon(template, valid_from=now + timedelta(hours=1))
    assert why_not(coupon=later, scope_ids=ScopeIds(), target=ok).endswith("起可用。")
    gone = _coupon(template, valid_until=now - timedelta(seconds=1))
    assert why_not(coupon=gone, scope_ids=ScopeIds(), target=ok).startswith("已于")
    only_sku = _coupon(_template(scope=CouponTemplate.Scope.SKUS))
    assert (
        why_not(coupon=only_sku, scope_ids=ScopeIds(skus=frozenset({99})), target=ok)
        == "不适用于此商品。"
    )
    assert (
        why_not(coupon=only_sku, scope_ids=ScopeIds(skus=frozenset({1})), target=ok)
        is None
    )
    no_member = _coupon(_template(stacks_with_member_price=False))
    member = _target(layers=("base", "member_level"))
    assert why_not(coupon=no_member, scope_ids=ScopeIds(), target=member) == (
        "不可与会员价叠加。"
    )
    no_flash = _coupon(_template(stacks_with_flash_sale=False))
    flash = _target(layers=("base", "flash_sale"))
    assert why_not(coupon=no_flash, scope_ids=ScopeIds(), target=flash) == (
        "不可与秒杀叠加。"
    )


@pytest.mark.parametrize(
    "scope, ids, applies",
    [
        (CouponTemplate.Scope.ALL, ScopeIds(), True),
        (CouponTemplate.Scope.CATEGORIES, ScopeIds(categories=frozenset({3})), True),
        (CouponTemplate.Scope.CATEGORIES, ScopeIds(categories=frozenset({4})), False),
        (CouponTemplate.Scope.PRODUCTS, ScopeIds(products=frozenset({2})), True),
        (CouponTemplate.Scope.PRODUCTS, ScopeIds(products=frozenset({5})), False),
        (CouponTemplate.Scope.SKUS, ScopeIds(skus=frozenset({1})), True),
    ],
)
def test_scope_rules(scope, ids, applies):
    coupon = _coupon(_template(scope=scope))
    assert (why_not(coupon=coupon, scope_ids=ids, target=_target()) is None) is applies


def test_the_template_page_says_value_and_stacking_in_words():
    template = _template(stacks_with_member_price=True, stacks_with_flash_sale=False)
    assert describe_value(template) == "满 ¥50.00 减 ¥10.00"
    assert describe_stacking(template) == "可与会员价叠加；秒杀商品不可用。"
    percent = CouponTemplate(
        kind=K.PERCENT_OFF, percent=D("15.00"), cap=D("20.00"), threshold=D("0")
    )
    assert describe_value(percent) == "减 15%，最多减 ¥20.00"
