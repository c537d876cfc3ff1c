"""Issuing coupons: once per buyer and issue, per-buyer limit, total quantity,
lists and querysets, named buyers, the strategies' issuer."""

from datetime import timedelta

import pytest
from django.utils import timezone

from marketing.coupons.demo import seed_coupons
from marketing.coupons.issue import (
    CouponError,
    NamedBuyersInvalid,
    issue_coupons,
    issue_to_named_buyers,
)
from marketing.hooks import coupon_issuer
from marketing.models import Coupon, CouponTemplate
from tests.marketing.coupon_factories import fixed_dates, make_template
from tests.orders.factories import make_buyer
from users.models import User

pytestmark = pytest.mark.django_db
MANUAL = Coupon.Source.MANUAL


def test_the_same_issue_gives_each_buyer_one_coupon():
    template = make_template()
    buyers = [make_buyer() for _ in range(3)]
    ids = [buyer.pk for buyer in buyers]
    assert (
        issue_coupons(
            template=template, user_ids=ids, source=MANUAL, issue_key="winback 2026-11"
        )
        == 3
    )
    assert (
        issue_coupons(
            template=template, user_ids=ids, source=MANUAL, issue_key="winback 2026-11"
        )
        == 0
    )
    template.refresh_from_db()
    assert template.issued_count == 3
    assert Coupon.objects.filter(template=template).count() == 3


def test_per_buyer_limit_holds_across_issues():
    template = make_template(per_buyer_limit=2)
    buyer = make_buyer()
    issued = [
        issue_coupons(
            template=template, user_ids=[buyer.pk], source=MANUAL, issue_key=key
        )
        for key in ("a", "b", "c")
    ]
    assert issued == [1, 1, 0]
    assert buyer.coupons.count() == 2


def test_total_quantity_stops_the_issue_and_counts_what_was_issued():
    template = make_template(total_quantity=3)
    buyers = [make_buyer() for _ in range(5)]
    queryset = User.objects.filter(pk__in=[b.pk for b in buyers]).values("pk")
    assert (
        issue_coupons(
            template=template, user_ids=queryset, source=MANUAL, issue_key="one"
        )
        == 3
    )
    assert (
        issue_coupons(
            template=template, user_ids=queryset, source=MANUAL, issue_key="two"
        )
        == 0
    )
    template.refresh_from_db()
    assert template.issued_count == template.total_quantity == 3
    # the lowest ids got them
    owners = set(Coupon.objects.values_list("owner_id", flat=True))
    assert owners == {b.pk for b in buyers[:3]}


def test_validity_is_fixed_at_issue():
    days = make_template(valid_days=7)
    dates = make_template(**fixed_dates(-1, 10))
    buyer = make_buyer()
    at = timezone.now()
    for template in (days, dates):
        issue_coupons(
            template=template, user_ids=[buyer.pk], source=MANUAL, issue_key="k", at=at
        )
    by_days = Coupon.objects.get(template=days)
    assert by_days.valid_from == at
    assert by_days.valid_until == at + timedelta(days=7)
    by_dates = Coupon.objects.get(template=dates)
    assert (by_dates.valid_from, by_dates.valid_until) == (
        dates.valid_from,
        dates.valid_until,
    )


def test_inactive_or_expired_templates_issue_nothing():
    buyer = make_buyer()
    off = make_template(active=False)
    with pytest.raises(CouponError):
        issue_coupons(template=off, user_ids=[buyer.pk], source=MANUAL, issue_key="k")
    over = make_template(**fixed_dates(-10, -1))
    with pytest.raises(CouponError):
        issue_coupons(template=over, user_ids=[buyer.pk], source=MANUAL, issue_key="k")
    assert not Coupon.objects.exists()


def test_inactive_buyers_are_skipped():
    template = make_template()
    gone = make_buyer(is_active=False)
    here = make_buyer()
    assert (
        issue_coupons(
            template=template, user_ids=[gone.pk, here.pk], source=MANUAL, issue_key="k"
        )
        == 1
    )


def test_named_buyers_by_username_or_phone():
    template = make_template()
    alice = make_buyer(phone="13800000001")
    bob = make_buyer()
    text = f"13800000001\n{bob.username}\n{bob.username}\n"
    assert issue_to_named_buyers(template=template, text=text, issue_key="m1") == 2
    assert {c.owner_id for c in Coupon.objects.all()} == {alice.pk, bob.pk}


def test_a_bad_line_is_named_and_nothing_is_issued():
    template = make_template()
    bob = make_buyer()
    with pytest.raises(NamedBuyersInvalid) as refused:
        issue_to_named_buyers(
            template=template, text=f"{bob.username}\nnobody-here", issue_key="m"
        )
    assert refused.value.extra["errors"] == [
        "第 2 行：找不到用户名或手机号为“nobody-here”的买家。"
    ]
    assert not Coupon.objects.exists()


def test_strategies_issue_through_the_registered_issuer():
    template = make_template()
    buyers = [make_buyer() for _ in range(2)]
    issuer = coupon_issuer()
    assert issuer is not None
    ids = User.objects.filter(pk__in=[b.pk for b in buyers]).values("pk")
    assert issuer(template_id=template.pk, user_ids=ids) == 2
    assert issuer(template_id=template.pk, user_ids=ids) == 0  # same day: once
    assert set(Coupon.objects.values_list("source", flat=True)) == {"strategy"}


def test_the_demo_seeds_coupons_once():
    buyers = [User.objects.create_user(f"buyer{n:04d}") for n in range(1, 4)]
    seed_coupons()
    seed_coupons()  # re-seeding issues nothing twice
    assert CouponTemplate.objects.count() == 4
    assert Coupon.objects.count() == 4 * len(buyers)
