"""Buyers racing for the last seat of a group (Postgres, real threads): exactly
one joins and pays, the others are refused before being charged; the group
never has more members than its size and every member's order is delivered."""

import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from marketing.group_buy import join_option, open_option
from marketing.models import BuyerGroup, GroupMember
from orders.checkout import buy_with_wallet
from orders.exceptions import CheckoutRefused
from orders.group_buy import refund_expired_groups
from orders.models import Order
from tests.marketing.group_buy_helpers import buyers, group_campaign, sold_codes
from users.models import LedgerEntry

RACERS = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_buyers_racing_for_the_last_seat_exactly_one_joins():
    campaign = group_campaign(size=3, codes=10)
    leader, second, *racers = buyers(2 + RACERS)
    opened = buy_with_wallet(
        sku=campaign.sku, quantity=1, buyer=leader, options=open_option(campaign.pk)
    )
    group = GroupMember.objects.get(order_id=opened.pk).group
    buy_with_wallet(
        sku=campaign.sku, quantity=1, buyer=second, options=join_option(group.token)
    )
    outcomes, errors = Counter(), []
    lock = threading.Lock()
    start = threading.Barrier(RACERS)

    def race(buyer):
        try:
            start.wait()
            try:
                buy_with_wallet(
                    sku=campaign.sku,
                    quantity=1,
                    buyer=buyer,
                    options=join_option(group.token),
                )
                result = "joined"
            except CheckoutRefused as exc:
                result = exc.message
            with lock:
                outcomes[result] += 1
        except Exception as exc:  # noqa: BLE001 - any other error fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(b,)) for b in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert outcomes == {"joined": 1, "该团已满员，请自己发起拼团。": RACERS - 1}
    group.refresh_from_db()
    assert group.state == BuyerGroup.State.FILLED
    assert group.seats_taken == 3
    assert group.members.filter(left_at__isnull=True).count() == 3
    # Every member delivered, codes taken once each; nobody refused was charged.
    assert Order.objects.filter(status=Order.Status.DELIVERED).count() == 3
    assert Order.objects.count() == 3
    assert sold_codes(campaign.sku) == 3
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PURCHASE).count() == 3
    for buyer in racers:
        buyer.wallet.refresh_from_db()
    assert sorted(b.wallet.balance for b in racers) == sorted(
        [Decimal("92.50")] + [Decimal("100.00")] * (RACERS - 1)
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_beat_task_and_the_last_payment_never_both_win():
    """The deadline passes while the last member pays: either the group fills
    (all delivered) or it fails (all refunded), never a mix."""
    campaign = group_campaign(size=2, codes=5)
    leader, last = buyers(2)
    opened = buy_with_wallet(
        sku=campaign.sku, quantity=1, buyer=leader, options=open_option(campaign.pk)
    )
    group = GroupMember.objects.get(order_id=opened.pk).group
    errors = []
    start = threading.Barrier(2)

    def pay():
        try:
            start.wait()
            try:
                buy_with_wallet(
                    sku=campaign.sku,
                    quantity=1,
                    buyer=last,
                    options=join_option(group.token),
                )
            except CheckoutRefused:
                pass
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            connection.close()

    def sweep():
        try:
            start.wait()
            refund_expired_groups(now=timezone.now() + timedelta(days=2))
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=pay), threading.Thread(target=sweep)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refund_expired_groups(now=timezone.now() + timedelta(days=2))  # a later run

    assert errors == []
    group.refresh_from_db()
    statuses = set(Order.objects.values_list("status", flat=True))
    if group.state == BuyerGroup.State.FILLED:
        assert statuses == {Order.Status.DELIVERED}
        assert Order.objects.count() == 2
    else:
        assert group.state == BuyerGroup.State.FAILED
        assert statuses == {Order.Status.REFUNDED}
        assert sold_codes(campaign.sku) == 0
