"""Referral (邀请有礼): who invited whom, the rewards of both sides on signup and
on the first paid order (once, whatever repeats), the abuse limits that hold a
referral for review, the review itself and the module switch."""

from decimal import Decimal
from itertools import count

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from kameng import events
from kameng.models import AuditEntry
from kameng.modules import forget_switches, switch_module
from marketing.models import (
    Coupon,
    PointsEntry,
    Referral,
    ReferralReward,
    ReferralSettings,
)
from marketing.referral import (
    NotAwaitingReview,
    SelfInvite,
    clear_referral,
    code_for,
    record_referral,
    reject_referral,
)
from orders.checkout import buy_with_wallet
from tests.catalog.factories import make_sku
from tests.marketing.coupon_factories import make_template
from tests.orders.factories import make_buyer, stock_codes
from users.models import LedgerEntry, LoginEvent, User

PASSWORD = "Kameng-pass-2026!"
_seq = count(1)
_order_ids = count(900001)


def configure(**fields):
    ReferralSettings.objects.get_or_create(pk=1)
    ReferralSettings.objects.filter(pk=1).update(**fields)


SIGNUP_BOTH = {
    "signup_inviter_kind": "wallet",
    "signup_inviter_amount": Decimal("5.00"),
    "signup_invitee_kind": "wallet",
    "signup_invitee_amount": Decimal("3.00"),
}
FIRST_ORDER_BOTH = {
    "first_order_inviter_kind": "wallet",
    "first_order_inviter_amount": Decimal("8.00"),
    "first_order_invitee_kind": "wallet",
    "first_order_invitee_amount": Decimal("2.00"),
}


def rewards_of(user: User) -> Decimal:
    entries = LedgerEntry.objects.filter(
        wallet__user=user, kind=LedgerEntry.Kind.REWARD
    )
    return sum((entry.amount for entry in entries), Decimal("0.00"))


def fresh_ip() -> str:
    return f"10.1.{next(_seq) % 250}.{next(_seq) % 250 + 1}"


def invited(inviter: User, **signals) -> Referral:
    """A friend of `inviter` signs up (through the service) from their own
    device and address unless told otherwise."""
    invitee = signals.pop("invitee", None) or make_buyer()
    signals.setdefault("ip", fresh_ip())
    signals.setdefault("device_id", f"device-of-friend-{next(_seq):06d}")
    return record_referral(code=code_for(user=inviter).code, invitee=invitee, **signals)


def pay(buyer_id: int, order_id: int, amount="50.00"):
    events.order_paid.send(
        sender=None,
        order_id=order_id,
        buyer_id=buyer_id,
        amount=Decimal(amount),
        payment_method="wallet",
        category_id=None,
    )


def shop_signup(client: Client, *, username: str, invite: str = ""):
    url = reverse("shop:signup") + (f"?invite={invite}" if invite else "")
    client.get(url)  # the page gives the device cookie
    return client.post(
        url,
        {
            "username": username,
            "email": f"{username}@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )


@pytest.fixture
def inviter(db):
    return make_buyer(email="inviter@example.com", phone="13800000001")


# Rewards -------------------------------------------------------------------------
def test_signup_through_the_link_rewards_both_sides_once(inviter):
    configure(**SIGNUP_BOTH)
    code = code_for(user=inviter).code
    friend_browser = Client(REMOTE_ADDR="10.9.8.7")
    landing = friend_browser.get(reverse("shop:invite", args=[code]))
    assert landing.status_code == 302
    assert landing["Location"].endswith(f"?invite={code}")

    response = shop_signup(friend_browser, username="friend-a")

    assert response.status_code == 302
    friend = User.objects.get(username="friend-a")
    referral = Referral.objects.get(invitee=friend)
    assert referral.inviter == inviter
    assert referral.review == Referral.Review.NOT_NEEDED
    assert referral.signup_ip == "10.9.8.7"
    assert referral.device_id  # the shop's device cookie
    assert rewards_of(inviter) == Decimal("5.00")
    assert rewards_of(friend) == Decimal("3.00")
    # the code was used: the cookie is gone, a second account records nothing
    assert friend_browser.cookies["kameng_invite"].value == ""


def test_first_paid_order_rewards_both_sides_and_the_second_order_nothing(
    inviter, django_capture_on_commit_callbacks
):
    configure(**FIRST_ORDER_BOTH)
    friend = make_buyer(balance=Decimal("100.00"))
    invited(inviter, invitee=friend)
    assert rewards_of(inviter) == rewards_of(friend) == Decimal("0.00")
    sku = make_sku(price=Decimal("9.80"))
    stock_codes(sku, 2)

    with django_capture_on_commit_callbacks(execute=True):
        first = buy_with_wallet(sku=sku, quantity=1, buyer=friend)
    assert rewards_of(inviter) == Decimal("8.00")
    assert rewards_of(friend) == Decimal("2.00")

    with django_capture_on_commit_callbacks(execute=True):
        buy_with_wallet(sku=sku, quantity=1, buyer=friend)
    pay(friend.pk, first.pk)  # the first order's signal again

    assert rewards_of(inviter) == Decimal("8.00")
    assert rewards_of(friend) == Decimal("2.00")
    referral = Referral.objects.get(invitee=friend)
    assert referral.first_order_id == first.pk
    assert referral.rewards.count() == 2


def test_signup_and_first_order_both_configured_pay_four_rewards_once(inviter):
    configure(**SIGNUP_BOTH, **FIRST_ORDER_BOTH)
    referral = invited(inviter)
    order_id = next(_order_ids)
    pay(referral.invitee_id, order_id)
    pay(referral.invitee_id, order_id)  # order_paid arrives twice
    pay(referral.invitee_id, next(_order_ids))  # a second order

    assert rewards_of(inviter) == Decimal("13.00")
    assert rewards_of(referral.invitee) == Decimal("5.00")
    assert sorted(referral.rewards.values_list("event", "side")) == [
        ("first_order", "invitee"),
        ("first_order", "inviter"),
        ("signup", "invitee"),
        ("signup", "inviter"),
    ]


def test_only_the_configured_side_and_event_are_paid(inviter):
    configure(
        first_order_inviter_kind="wallet", first_order_inviter_amount=Decimal("6.00")
    )
    referral = invited(inviter)
    assert not referral.rewards.exists()  # nothing for signing up
    pay(referral.invitee_id, next(_order_ids))
    assert rewards_of(inviter) == Decimal("6.00")
    assert rewards_of(referral.invitee) == Decimal("0.00")


def test_a_first_order_below_the_minimum_earns_nothing(inviter):
    configure(**FIRST_ORDER_BOTH, first_order_min_amount=Decimal("30.00"))
    referral = invited(inviter)
    pay(referral.invitee_id, next(_order_ids), amount="29.99")
    pay(referral.invitee_id, next(_order_ids), amount="99.00")  # not the first
    assert rewards_of(inviter) == Decimal("0.00")
    assert rewards_of(referral.invitee) == Decimal("0.00")


def test_a_coupon_reward_issues_one_coupon_per_side_once(inviter):
    template = make_template(name="邀请好友满50减10")
    configure(
        signup_invitee_kind="coupon",
        signup_invitee_coupon=template,
        first_order_inviter_kind="coupon",
        first_order_inviter_coupon=template,
    )
    referral = invited(inviter)
    order_id = next(_order_ids)
    pay(referral.invitee_id, order_id)
    pay(referral.invitee_id, order_id)

    friend_coupons = Coupon.objects.filter(owner=referral.invitee, template=template)
    inviter_coupons = Coupon.objects.filter(owner=inviter, template=template)
    assert friend_coupons.count() == 1
    assert inviter_coupons.count() == 1
    assert friend_coupons.get().source == Coupon.Source.REFERRAL
    assert rewards_of(inviter) == Decimal("0.00")  # no wallet credit


def test_a_coupon_that_cannot_be_issued_leaves_the_signup_and_other_rewards(
    inviter,
):
    switched_off = make_template(active=False)
    configure(
        signup_inviter_kind="coupon",
        signup_inviter_coupon=switched_off,
        signup_invitee_kind="wallet",
        signup_invitee_amount=Decimal("3.00"),
    )
    referral = invited(inviter)
    assert rewards_of(referral.invitee) == Decimal("3.00")
    assert not Coupon.objects.filter(owner=inviter).exists()
    assert list(referral.rewards.values_list("side", flat=True)) == ["invitee"]


def referral_points(user: User) -> int:
    """Points the buyer got from referral (purchases earn their own)."""
    entries = PointsEntry.objects.filter(
        account__buyer=user, reference__startswith="referral:"
    )
    return sum(entries.values_list("amount", flat=True))


def test_a_points_reward_is_given_once(inviter):
    configure(
        signup_invitee_kind="points",
        signup_invitee_amount=Decimal("100"),
        first_order_inviter_kind="points",
        first_order_inviter_amount=Decimal("300"),
    )
    referral = invited(inviter)
    order_id = next(_order_ids)
    pay(referral.invitee_id, order_id)
    pay(referral.invitee_id, order_id)
    pay(referral.invitee_id, next(_order_ids))

    assert referral_points(referral.invitee) == 100
    assert referral_points(inviter) == 300
    assert referral.rewards.count() == 2


def test_settings_refuse_points_that_are_not_whole(db):
    config = ReferralSettings(
        pk=1, signup_invitee_kind="points", signup_invitee_amount=Decimal("1.50")
    )
    with pytest.raises(ValidationError) as refused:
        config.full_clean()
    assert "signup_invitee_amount" in refused.value.message_dict


def test_an_order_of_a_buyer_nobody_invited_pays_nothing(inviter):
    configure(**FIRST_ORDER_BOTH)
    stranger = make_buyer()
    pay(stranger.pk, next(_order_ids))
    assert not ReferralReward.objects.exists()


# Abuse limits --------------------------------------------------------------------
def held_and_unpaid(referral: Referral, reason: str, inviter_had="0.00") -> None:
    assert referral.review == Referral.Review.HELD
    assert reason in referral.reasons
    assert not referral.rewards.exists()
    assert rewards_of(referral.inviter) == Decimal(inviter_had)
    assert rewards_of(referral.invitee) == Decimal("0.00")


def test_signup_from_the_inviters_device_is_held(inviter):
    configure(**SIGNUP_BOTH)
    code_for(user=inviter, device_id="the-inviters-phone-0001")
    held_and_unpaid(
        invited(inviter, device_id="the-inviters-phone-0001"), "same_device"
    )


def test_two_friends_from_one_device_hold_the_second(inviter):
    configure(**SIGNUP_BOTH)
    assert invited(inviter, device_id="shared-device-00000001").review == "ok"
    second = invited(inviter, device_id="shared-device-00000001")
    held_and_unpaid(second, "same_device", inviter_had="5.00")


def test_signup_from_the_inviters_address_is_held(inviter):
    configure(**SIGNUP_BOTH)
    code_for(user=inviter, ip="10.7.7.7")
    held_and_unpaid(invited(inviter, ip="10.7.7.7"), "same_ip")


def test_signup_from_an_address_the_inviter_logged_in_from_is_held(inviter):
    configure(**SIGNUP_BOTH)
    LoginEvent.objects.create(
        user=inviter,
        username=inviter.username,
        success=True,
        area="shop",
        ip="10.6.6.6",
    )
    held_and_unpaid(invited(inviter, ip="10.6.6.6"), "same_ip")


def test_two_friends_from_one_address_hold_the_second(inviter):
    configure(**SIGNUP_BOTH)
    assert invited(inviter, ip="10.5.5.5").review == "ok"
    held_and_unpaid(invited(inviter, ip="10.5.5.5"), "same_ip", inviter_had="5.00")


@pytest.mark.parametrize(
    "contact",
    [
        {"email": "Inviter+second@Example.com"},
        {"phone": "+86 138-0000-0001"},
    ],
)
def test_signup_with_the_inviters_contact_is_held(inviter, contact):
    configure(**SIGNUP_BOTH)
    friend = make_buyer(**contact)
    held_and_unpaid(invited(inviter, invitee=friend), "same_contact")


@pytest.mark.parametrize(
    ("limit", "reason"),
    [({"max_per_hour": 2}, "velocity_hour"), ({"max_per_day": 3}, "velocity_day")],
)
def test_more_invites_than_the_limit_are_held(inviter, limit, reason):
    configure(**SIGNUP_BOTH, **limit)
    allowed = next(iter(limit.values()))
    for _ in range(allowed):
        assert invited(inviter).review == Referral.Review.NOT_NEEDED
    over = invited(inviter)
    assert over.review == Referral.Review.HELD
    assert over.reasons == [reason]
    assert not over.rewards.exists()
    assert rewards_of(inviter) == Decimal("5.00") * allowed


def test_held_referral_shows_its_reasons_in_chinese(inviter):
    code_for(user=inviter, ip="10.4.4.4")
    referral = invited(inviter, ip="10.4.4.4")
    assert referral.reason_labels() == ["与邀请人或其他好友的 IP 地址相同"]


def test_a_self_invite_is_refused(inviter):
    with pytest.raises(SelfInvite):
        record_referral(code=code_for(user=inviter).code, invitee=inviter)
    friend = make_buyer()
    with pytest.raises(SelfInvite):  # a new account made while logged in as them
        record_referral(
            code=code_for(user=inviter).code, invitee=friend, signed_in_as_id=inviter.pk
        )
    assert not Referral.objects.exists()


def test_signup_while_logged_in_as_the_inviter_records_no_referral(inviter):
    code = code_for(user=inviter).code
    browser = Client()
    browser.force_login(inviter)
    own_link = browser.get(reverse("shop:invite", args=[code]))
    assert own_link["Location"] == reverse("shop:referral")
    shop_signup(browser, username="second-me", invite=code)
    assert User.objects.filter(username="second-me").exists()
    assert not Referral.objects.exists()


def test_an_unknown_code_still_signs_up(db):
    response = shop_signup(Client(), username="no-inviter", invite="NOSUCH99")
    assert response.status_code == 302
    assert User.objects.filter(username="no-inviter").exists()
    assert not Referral.objects.exists()


# Review --------------------------------------------------------------------------
def test_clearing_pays_what_is_due_once(inviter, role_user):
    configure(**SIGNUP_BOTH, **FIRST_ORDER_BOTH)
    code_for(user=inviter, ip="10.3.3.3")
    referral = invited(inviter, ip="10.3.3.3")
    pay(referral.invitee_id, next(_order_ids))  # first order while held
    assert rewards_of(inviter) == Decimal("0.00")
    reviewer = role_user("marketing")

    paid = clear_referral(referral_id=referral.pk, actor=reviewer, note="真实好友")

    assert len(paid) == 4
    assert rewards_of(inviter) == Decimal("13.00")
    assert rewards_of(referral.invitee) == Decimal("5.00")
    with pytest.raises(NotAwaitingReview):
        clear_referral(referral_id=referral.pk, actor=reviewer)
    pay(referral.invitee_id, next(_order_ids))
    assert rewards_of(inviter) == Decimal("13.00")
    entry = AuditEntry.objects.get(action="referral.cleared")
    assert entry.actor == reviewer


def test_rejecting_never_pays(inviter, role_user):
    configure(**SIGNUP_BOTH, **FIRST_ORDER_BOTH)
    code_for(user=inviter, device_id="the-inviters-phone-0002")
    referral = invited(inviter, device_id="the-inviters-phone-0002")
    reviewer = role_user("marketing")

    reject_referral(referral_id=referral.pk, actor=reviewer, note="同一设备")
    pay(referral.invitee_id, next(_order_ids))
    with pytest.raises(NotAwaitingReview):
        clear_referral(referral_id=referral.pk, actor=reviewer)

    assert not ReferralReward.objects.exists()
    assert rewards_of(inviter) == rewards_of(referral.invitee) == Decimal("0.00")
    assert AuditEntry.objects.filter(action="referral.rejected").count() == 1


def test_the_review_queue_clears_with_one_click_and_support_only_reads(
    inviter, role_user
):
    configure(**SIGNUP_BOTH)
    code_for(user=inviter, ip="10.2.2.2")
    referral = invited(inviter, ip="10.2.2.2")
    support = Client()
    support.force_login(role_user("support"))
    page = support.get(reverse("marketing:referral_review"))
    assert page.status_code == 200
    assert "与邀请人或其他好友的 IP 地址相同" in page.content.decode()
    assert b'data-testid="referral-clear"' not in page.content
    refused = support.post(
        reverse("marketing:referral_decide", args=[referral.pk]), {"decision": "clear"}
    )
    assert refused.status_code == 403

    marketing = Client()
    marketing.force_login(role_user("marketing"))
    page = marketing.get(reverse("marketing:referral_review"))
    assert b'data-testid="referral-clear"' in page.content
    marketing.post(
        reverse("marketing:referral_decide", args=[referral.pk]), {"decision": "clear"}
    )
    marketing.post(  # a double click
        reverse("marketing:referral_decide", args=[referral.pk]), {"decision": "clear"}
    )

    assert rewards_of(inviter) == Decimal("5.00")
    referral.refresh_from_db()
    assert referral.review == Referral.Review.CLEARED
    assert (
        b"referral-queue-empty"
        in marketing.get(reverse("marketing:referral_review")).content
    )


def test_settings_refuse_a_reward_without_an_amount(db):
    config = ReferralSettings(pk=1, signup_inviter_kind="wallet")
    with pytest.raises(ValidationError) as refused:
        config.full_clean()
    assert "signup_inviter_amount" in refused.value.message_dict


# Shop page -----------------------------------------------------------------------
def test_invite_page_lists_friends_masked_with_their_state(inviter):
    configure(**SIGNUP_BOTH)
    plain = invited(
        inviter, invitee=User.objects.create_user(username="zhangsan-plain")
    )
    ordered = invited(
        inviter, invitee=User.objects.create_user(username="lisi-ordered")
    )
    pay(ordered.invitee_id, next(_order_ids))
    code_for(user=inviter, ip="10.1.1.1")
    invited(
        inviter, invitee=User.objects.create_user(username="wangwu-held"), ip="10.1.1.1"
    )
    browser = Client()
    browser.force_login(inviter)

    page = browser.get(reverse("shop:referral")).content.decode()

    assert code_for(user=inviter).code in page
    assert f"/shop/i/{code_for(user=inviter).code}/" in page
    assert "zhangsan-plain" not in page and "z************n" in page
    assert "已注册" in page and "已首单" in page and "审核中" in page
    assert "¥10.00" in page  # two clean friends × ¥5
    assert plain.review == "ok"
    assert 'src="/static/shop/referral.js"' in page
    assert "<script>" not in page


# Module switch -------------------------------------------------------------------
def test_switched_off_nothing_is_captured_or_paid_and_pages_404(
    inviter, role_user, django_capture_on_commit_callbacks
):
    configure(**SIGNUP_BOTH, **FIRST_ORDER_BOTH)
    code = code_for(user=inviter).code
    earlier = invited(inviter)
    with django_capture_on_commit_callbacks(execute=True):
        switch_module(code="referral", enabled=False, actor=None)
    try:
        browser = Client()
        assert browser.get(reverse("shop:invite", args=[code])).status_code == 404
        shop_signup(browser, username="off-friend", invite=code)
        assert not Referral.objects.filter(invitee__username="off-friend").exists()
        pay(earlier.invitee_id, next(_order_ids))
        assert not earlier.rewards.filter(event="first_order").exists()
        browser.force_login(inviter)
        assert browser.get(reverse("shop:referral")).status_code == 404
        assert "邀请有礼" not in browser.get(reverse("shop:home")).content.decode()
        staff = Client()
        staff.force_login(role_user("marketing"))
        assert staff.get(reverse("marketing:referral_review")).status_code == 404
        assert (
            staff.get(reverse("admin:marketing_referral_changelist")).status_code == 404
        )
    finally:
        with django_capture_on_commit_callbacks(execute=True):
            switch_module(code="referral", enabled=True, actor=None)
        forget_switches()
