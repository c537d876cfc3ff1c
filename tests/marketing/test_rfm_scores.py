"""Nightly RFM scoring: quintiles 1–5 of recency, frequency and spend."""

from datetime import timedelta

import pytest
from django.utils import timezone

from marketing.models import RfmScore
from marketing.services import score_rfm
from tests.marketing.factories import buyer_with

pytestmark = pytest.mark.django_db


def scores():
    return {
        s.user_id: (s.recency, s.frequency, s.monetary) for s in RfmScore.objects.all()
    }


def test_ten_buyers_fall_into_known_quintiles():
    """Ten buyers, two per fifth: the most recent, most frequent and biggest
    spenders score 5, the least score 1, each figure on its own."""
    buyers = [
        # buyer i: last order i days ago, 10 - i orders, spent 100 * (i + 1)
        buyer_with(
            spent=f"{100 * (i + 1)}.00", orders=10 - i, last_order_days_ago=i + 1
        )
        for i in range(10)
    ]
    assert score_rfm() == 10
    got = scores()
    for i, buyer in enumerate(buyers):
        high_first = 5 - i // 2  # i = 0, 1 → 5; i = 8, 9 → 1
        low_first = i // 2 + 1  # i = 0, 1 → 1; i = 8, 9 → 5
        assert got[buyer.pk] == (high_first, high_first, low_first), i


def test_equal_figures_get_equal_scores_and_non_buyers_none():
    three_days_ago = timezone.now() - timedelta(days=3)
    same = [
        buyer_with(spent="50.00", orders=1, last_order_at=three_days_ago)
        for _ in range(4)
    ]
    big = buyer_with(spent="900.00", orders=9, last_order_days_ago=1)
    never = buyer_with()
    staff = buyer_with(spent="999.00", orders=9, last_order_days_ago=1, is_staff=True)
    score_rfm()
    got = scores()
    assert {got[b.pk] for b in same} == {(1, 1, 1)}
    assert got[big.pk] == (5, 5, 5)
    assert never.pk not in got and staff.pk not in got


def test_rescoring_replaces_yesterdays_scores():
    buyer = buyer_with(spent="10.00", orders=1, last_order_days_ago=1)
    score_rfm()
    buyer.delete()
    assert score_rfm() == 0
    assert not RfmScore.objects.exists()


def test_a_rescore_writes_only_what_changed():
    """Unchanged scores keep the day they were set; a buyer who no longer
    qualifies (deactivated) loses the scores."""
    buyers = [
        buyer_with(spent=f"{10 * (i + 1)}.00", orders=i + 1, last_order_days_ago=9 - i)
        for i in range(5)
    ]
    first_day = timezone.localdate() - timedelta(days=1)
    score_rfm(today=first_day)
    buyers[4].is_active = False
    buyers[4].save()
    assert score_rfm() == 4
    for i in range(4):  # 1st … 4th of five, and of four still
        kept = RfmScore.objects.get(user=buyers[i])
        assert (kept.recency, kept.frequency, kept.monetary) == (i + 1,) * 3
        assert kept.scored_on == first_day  # unchanged since
    assert not RfmScore.objects.filter(user=buyers[4]).exists()
