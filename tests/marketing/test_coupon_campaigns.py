"""Automatic coupon campaigns: each fires once, only for eligible buyers, only
when switched on with a template, and never with the coupons module off."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kameng import events
from kameng.modules import forget_switches, switch_module
from marketing.campaigns import (
    birthday_filter,
    ensure_campaigns,
    give_birthday_gifts,
    give_monthly_coupons,
    give_winback_coupons,
    run_campaigns,
)
from marketing.models import Coupon, CouponCampaign
from tests.marketing.factories import buyer_with
from tests.marketing.issuing_helpers import make_template
from users.models import MemberLevel, User
from users.services import register_buyer

pytestmark = pytest.mark.django_db

K = CouponCampaign.Kind


def switch_on(campaign_kind, **fields):
    ensure_campaigns()
    template = make_template(per_buyer_limit=20, **fields)
    CouponCampaign.objects.filter(kind=campaign_kind).update(
        enabled=True, template=template
    )
    return template


def owners(template) -> list[int]:
    return sorted(
        Coupon.objects.filter(template=template).values_list("owner_id", flat=True)
    )


def test_every_campaign_row_exists_switched_off():
    ensure_campaigns()
    assert set(CouponCampaign.objects.values_list("kind", flat=True)) == set(K.values)
    assert not CouponCampaign.objects.filter(enabled=True).exists()


def test_signup_gift_goes_to_a_new_buyer_once(django_capture_on_commit_callbacks):
    template = switch_on(K.SIGNUP)
    with django_capture_on_commit_callbacks(execute=True):
        buyer = register_buyer(username="newbie", email="n@example.com", password="x")
    events.user_registered.send(sender=User, user_id=buyer.pk)  # a repeated event
    assert owners(template) == [buyer.pk]
    assert Coupon.objects.get(template=template).source == Coupon.Source.SIGNUP


def test_signup_gift_off_gives_nothing(django_capture_on_commit_callbacks):
    ensure_campaigns()
    make_template()
    with django_capture_on_commit_callbacks(execute=True):
        register_buyer(username="newbie2", email="m@example.com", password="x")
    assert not Coupon.objects.exists()


def paid(buyer, amount="30.00"):
    """What orders sends after a paid order (users' receiver counts it first)."""
    events.order_paid.send(
        sender=None,
        order_id=1,
        buyer_id=buyer.pk,
        amount=Decimal(amount),
        payment_method="wallet",
    )


def test_first_order_reward_only_for_the_first_paid_order():
    template = switch_on(K.FIRST_ORDER)
    newcomer = buyer_with()
    regular = buyer_with(spent="100.00", orders=3, last_order_days_ago=2)
    paid(newcomer)
    paid(newcomer)
    paid(regular)
    assert owners(template) == [newcomer.pk]


def test_birthday_gift_for_todays_birthdays_at_levels_with_the_gift():
    template = switch_on(K.BIRTHDAY)
    gold = MemberLevel.objects.create(code="gold-b", name="黄金", birthday_gift=True)
    plain = MemberLevel.objects.create(code="plain-b", name="普通")
    today = date(2026, 11, 26)
    born_today = buyer_with(member_level=gold, birthday=date(1990, 11, 26))
    buyer_with(member_level=gold, birthday=date(1990, 11, 25))  # yesterday
    buyer_with(member_level=plain, birthday=date(1990, 11, 26))  # no gift
    buyer_with(member_level=gold)  # no birthday given
    assert give_birthday_gifts(today=today) == 1
    assert give_birthday_gifts(today=today) == 0  # once a year
    assert owners(template) == [born_today.pk]
    assert Coupon.objects.get(template=template).issue_key == "birthday:2026"
    assert give_birthday_gifts(today=date(2027, 11, 26)) == 1  # next year


def test_leap_day_birthdays_are_celebrated_on_28_february():
    switch_on(K.BIRTHDAY)
    gold = MemberLevel.objects.create(code="gold-l", name="黄金", birthday_gift=True)
    buyer_with(member_level=gold, birthday=date(2000, 2, 29))
    assert give_birthday_gifts(today=date(2027, 2, 28)) == 1
    assert give_birthday_gifts(today=date(2028, 2, 28)) == 0
    assert give_birthday_gifts(today=date(2028, 2, 29)) == 1
    assert birthday_filter(date(2028, 3, 1))  # a plain day has its own filter


def test_monthly_coupon_once_a_month_for_levels_with_it():
    template = switch_on(K.MONTHLY)
    vip = MemberLevel.objects.create(code="vip-m", name="钻石", monthly_coupon=True)
    member = buyer_with(member_level=vip)
    buyer_with()  # no level
    staff = buyer_with(member_level=vip, is_staff=True)
    assert give_monthly_coupons(today=date(2026, 11, 1)) == 1
    assert give_monthly_coupons(today=date(2026, 11, 26)) == 0
    assert give_monthly_coupons(today=date(2026, 12, 1)) == 1
    assert owners(template) == [member.pk, member.pk]
    assert staff.pk not in owners(template)
    assert set(
        Coupon.objects.filter(template=template).values_list("issue_key", flat=True)
    ) == {"monthly:2026-11", "monthly:2026-12"}


def test_winback_reaches_buyers_dormant_30_days_once_per_dormant_spell():
    template = switch_on(
        K.WINBACK,
        kind="amount_off",
        threshold=Decimal("50.00"),
        amount=Decimal("10.00"),
    )
    now = timezone.now()
    dormant = buyer_with(spent="90.00", orders=2, last_order_days_ago=31)
    active = buyer_with(spent="90.00", orders=2, last_order_days_ago=10)
    buyer_with(spent="90.00", orders=2, last_order_days_ago=200)  # long lost
    buyer_with()  # never bought
    assert give_winback_coupons(now=now) == 1
    assert give_winback_coupons(now=now + timedelta(days=3)) == 0
    assert owners(template) == [dormant.pk]
    # The dormant buyer buys again; a month later both have been dormant for
    # 30 days: the active one for the first time, the other for a second spell.
    paid(dormant)
    assert give_winback_coupons(now=now + timedelta(days=31)) == 2
    assert owners(template) == sorted([dormant.pk, dormant.pk, active.pk])


def test_daily_pass_runs_the_three_and_module_off_issues_nothing(
    django_capture_on_commit_callbacks,
):
    gold = MemberLevel.objects.create(
        code="gold-x", name="黄金", birthday_gift=True, monthly_coupon=True
    )
    today = timezone.localdate()
    buyer_with(member_level=gold, birthday=today.replace(year=1990))
    for kind in (K.BIRTHDAY, K.MONTHLY, K.SIGNUP):
        switch_on(kind)
    with django_capture_on_commit_callbacks(execute=True):
        switch_module(code="coupons", enabled=False, actor=None)
    assert run_campaigns() == {"birthday": 0, "monthly": 0, "winback": 0}
    with django_capture_on_commit_callbacks(execute=True):
        register_buyer(username="off", email="o@example.com", password="x")
    assert not Coupon.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        switch_module(code="coupons", enabled=True, actor=None)
    forget_switches()
    assert run_campaigns() == {"birthday": 1, "monthly": 1, "winback": 0}


def test_an_expired_template_issues_nothing_and_breaks_nothing():
    ensure_campaigns()
    start = timezone.now() - timedelta(days=10)
    template = make_template(
        valid_days=None, valid_from=start, valid_until=start + timedelta(days=1)
    )
    CouponCampaign.objects.filter(kind=K.FIRST_ORDER).update(
        enabled=True, template=template
    )
    buyer = buyer_with()
    paid(buyer)  # the receiver logs and returns
    assert not Coupon.objects.exists()


def test_a_campaign_cannot_be_switched_on_without_a_template(client, role_user):
    ensure_campaigns()
    campaign = CouponCampaign.objects.get(kind=K.SIGNUP)
    client.force_login(role_user("marketing"))
    page = client.post(
        reverse("admin:marketing_couponcampaign_change", args=[campaign.pk]),
        {"enabled": "on", "template": ""},
    )
    assert page.status_code == 200
    assert "请先选择优惠券模板" in page.content.decode()
    campaign.refresh_from_db()
    assert not campaign.enabled
    template = make_template()
    answer = client.post(
        reverse("admin:marketing_couponcampaign_change", args=[campaign.pk]),
        {"enabled": "on", "template": template.pk},
    )
    assert answer.status_code == 302
    campaign.refresh_from_db()
    assert campaign.enabled and campaign.changed_by is not None
