"""Strategies: segment → action, once a day at most, each run logged with
whom it acted on."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kameng.modules import switch_module
from marketing.forms import StrategyForm
from marketing.hooks import coupon_issuers, register_coupon_issuer
from marketing.models import (
    PrioritySupport,
    PromotedProduct,
    Segment,
    Strategy,
    StrategyRun,
    StrategyRunBuyer,
)
from marketing.selectors import has_priority_support, promoted_product_ids
from marketing.services import refresh_segment, run_due_strategies, run_strategy
from orders.aftersales import PRIORITY_SUPPORT_BONUS, buyer_priority
from tests.catalog.factories import make_product
from tests.marketing.factories import buyer_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def dormant():
    """The dormant segment with two members."""
    buyers = [
        buyer_with(spent="80.00", orders=2, last_order_days_ago=45) for _ in range(2)
    ]
    buyer_with(spent="80.00", orders=2, last_order_days_ago=1)  # not dormant
    segment = Segment.objects.get(builtin=Segment.Builtin.DORMANT)
    refresh_segment(segment=segment)
    return segment, buyers


def test_priority_support_run_is_idempotent_per_day(dormant):
    segment, buyers = dormant
    strategy = Strategy.objects.create(
        name="沉睡客户优先服务",
        segment=segment,
        action=Strategy.Action.PRIORITY_SUPPORT,
    )
    today = timezone.localdate()
    first = run_strategy(strategy=strategy, day=today)
    second = run_strategy(strategy=strategy, day=today)
    assert first is not None and first.buyers == 2
    assert second is None
    assert StrategyRun.objects.filter(strategy=strategy).count() == 1
    assert set(
        StrategyRunBuyer.objects.filter(run=first).values_list("user_id", flat=True)
    ) == {b.pk for b in buyers}
    grant = PrioritySupport.objects.get(user=buyers[0])
    assert grant.expires_on == today + timedelta(days=strategy.lasts_days)
    assert has_priority_support(user_id=buyers[0].pk)
    assert buyer_priority(buyers[0]) >= PRIORITY_SUPPORT_BONUS
    tomorrow = run_strategy(strategy=strategy, day=today + timedelta(days=1))
    assert tomorrow is not None
    assert PrioritySupport.objects.count() == 2
    assert not has_priority_support(
        user_id=buyers[0].pk, today=today + timedelta(days=strategy.lasts_days + 2)
    )


def test_recommend_promotes_each_product_once_per_buyer(dormant):
    segment, buyers = dormant
    products = [make_product(), make_product()]
    strategy = Strategy.objects.create(
        name="沉睡客户推荐",
        segment=segment,
        action=Strategy.Action.RECOMMEND,
        lasts_days=7,
    )
    strategy.products.set(products)
    today = timezone.localdate()
    run_strategy(strategy=strategy, day=today)
    run_strategy(strategy=strategy, day=today)
    run_strategy(strategy=strategy, day=today + timedelta(days=1))
    assert PromotedProduct.objects.count() == 4  # 2 buyers × 2 products, no twins
    assert set(promoted_product_ids(user_id=buyers[0].pk)) == {p.pk for p in products}
    assert (
        PromotedProduct.objects.filter(expires_on=today + timedelta(days=8)).count()
        == 4
    )


def test_coupon_action_is_unavailable_while_coupons_are_switched_off(
    dormant, django_capture_on_commit_callbacks
):
    segment, _buyers = dormant
    with django_capture_on_commit_callbacks(execute=True):
        switch_module(code="coupons", enabled=False, actor=None)
    form = StrategyForm(
        data={
            "name": "发券",
            "segment": segment.pk,
            "action": "issue_coupon",
            "schedule": "daily",
            "weekday": 0,
            "lasts_days": 30,
            "active": "on",
        }
    )
    assert not form.is_valid()
    assert "暂不可用" in dict(form.fields["action"].choices)["issue_coupon"]
    strategy = Strategy.objects.create(
        name="发券", segment=segment, action=Strategy.Action.ISSUE_COUPON
    )
    run = run_strategy(strategy=strategy)
    assert run.outcome == StrategyRun.Outcome.UNAVAILABLE
    assert not StrategyRunBuyer.objects.exists()


def test_a_registered_coupon_issuer_receives_the_members(dormant):
    segment, buyers = dormant
    received = []

    def issue(*, template_id, user_ids):
        received.append((template_id, sorted(row["user_id"] for row in user_ids)))
        return len(received[-1][1])

    register_coupon_issuer(issue)
    try:
        strategy = Strategy.objects.create(
            name="发券",
            segment=segment,
            action=Strategy.Action.ISSUE_COUPON,
            coupon_template_id=42,
        )
        run_strategy(strategy=strategy)
    finally:
        coupon_issuers.clear()
    assert received == [(42, sorted(b.pk for b in buyers))]


def test_daily_pass_runs_what_is_due_once(dormant):
    segment, _buyers = dormant
    monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
    Strategy.objects.create(
        name="每天", segment=segment, action=Strategy.Action.PRIORITY_SUPPORT
    )
    Strategy.objects.create(
        name="每周二",
        segment=segment,
        action=Strategy.Action.PRIORITY_SUPPORT,
        schedule=Strategy.Schedule.WEEKLY,
        weekday=Strategy.Weekday.TUESDAY,
    )
    Strategy.objects.create(
        name="停用",
        segment=segment,
        action=Strategy.Action.PRIORITY_SUPPORT,
        active=False,
    )
    assert run_due_strategies(day=monday) == {"ran": 1, "skipped": 0}
    assert run_due_strategies(day=monday) == {"ran": 0, "skipped": 1}
    assert run_due_strategies(day=monday + timedelta(days=1)) == {
        "ran": 2,
        "skipped": 0,
    }
