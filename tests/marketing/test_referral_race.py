"""Racing order_paid signals of one invited buyer (two orders paid at once, the
same notify twice) and racing sign-ups of one inviter's friends: the first
order pays once, and the velocity limit holds (Postgres, real threads)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from marketing.models import Referral, ReferralReward, ReferralSettings
from marketing.referral import code_for, note_paid_order, record_referral
from tests.orders.factories import make_buyer
from users.models import LedgerEntry

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CALLERS = 8


def race(target, count: int) -> list[str]:
    start = threading.Barrier(count)
    errors = []

    def run(n):
        try:
            start.wait()
            target(n)
        except Exception as exc:  # noqa: BLE001 - any error fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_racing_paid_orders_of_one_friend_pay_the_first_order_once():
    ReferralSettings.objects.update_or_create(
        pk=1,
        defaults={
            "first_order_inviter_kind": "wallet",
            "first_order_inviter_amount": Decimal("8.00"),
            "first_order_invitee_kind": "wallet",
            "first_order_invitee_amount": Decimal("2.00"),
        },
    )
    inviter, friend = make_buyer(), make_buyer()
    record_referral(
        code=code_for(user=inviter).code,
        invitee=friend,
        ip="10.8.0.1",
        device_id="race-friend-device-01",
    )

    errors = race(
        lambda n: note_paid_order(
            buyer_id=friend.pk, order_id=700000 + n % 2, amount=Decimal("20.00")
        ),
        CALLERS,
    )

    assert errors == []
    assert ReferralReward.objects.count() == 2
    rewards = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REWARD)
    assert sorted(rewards.values_list("amount", flat=True)) == [
        Decimal("2.00"),
        Decimal("8.00"),
    ]
    first = Referral.objects.get(invitee=friend).first_order_id
    assert first in (700000, 700001)


def test_racing_signups_of_one_inviter_hold_those_over_the_hourly_limit():
    ReferralSettings.objects.update_or_create(pk=1, defaults={"max_per_hour": 3})
    inviter = make_buyer()
    code = code_for(user=inviter).code
    friends = [make_buyer() for _ in range(CALLERS)]

    errors = race(
        lambda n: record_referral(
            code=code,
            invitee=friends[n],
            ip=f"10.9.0.{n + 1}",
            device_id=f"race-device-{n:08d}",
        ),
        CALLERS,
    )

    assert errors == []
    reviews = list(Referral.objects.values_list("review", flat=True))
    assert reviews.count(Referral.Review.NOT_NEEDED) == 3
    assert reviews.count(Referral.Review.HELD) == CALLERS - 3
