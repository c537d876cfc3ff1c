"""A strategy whose action is "issue a coupon" issues through the coupon
core's issuer and logs whom; the buyer's birthday is set on the shop account
page and in the buyer admin, validated."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from marketing.models import Coupon, Segment, Strategy, StrategyRun, StrategyRunBuyer
from marketing.services import refresh_segment, run_strategy
from tests.marketing.factories import buyer_with
from tests.marketing.issuing_helpers import make_template

pytestmark = pytest.mark.django_db


def test_strategy_issues_coupons_to_its_segment_and_logs_whom():
    dormant = [
        buyer_with(spent="80.00", orders=2, last_order_days_ago=45) for _ in range(3)
    ]
    buyer_with(spent="80.00", orders=2, last_order_days_ago=1)  # not dormant
    segment = Segment.objects.get(builtin=Segment.Builtin.DORMANT)
    refresh_segment(segment=segment)
    template = make_template(name="召回满50减10")
    strategy = Strategy.objects.create(
        name="沉睡召回发券",
        segment=segment,
        action=Strategy.Action.ISSUE_COUPON,
        coupon_template_id=template.pk,
    )
    today = timezone.localdate()
    run = run_strategy(strategy=strategy, day=today)
    assert run.outcome == StrategyRun.Outcome.DONE and run.buyers == 3
    logged = set(
        StrategyRunBuyer.objects.filter(run=run).values_list("user", flat=True)
    )
    holders = set(
        Coupon.objects.filter(template=template).values_list("owner", flat=True)
    )
    assert logged == holders == {buyer.pk for buyer in dormant}
    assert set(
        Coupon.objects.filter(template=template).values_list("source", flat=True)
    ) == {Coupon.Source.STRATEGY}
    assert run_strategy(strategy=strategy, day=today) is None  # once a day
    assert Coupon.objects.filter(template=template).count() == 3


def test_buyer_sets_and_clears_their_birthday(client):
    buyer = buyer_with()
    client.force_login(buyer)
    page = client.get(reverse("shop:account")).content.decode()
    assert reverse("shop:birthday") in page
    answer = client.post(reverse("shop:birthday"), {"birthday": "1995-08-17"})
    assert answer.status_code == 302
    buyer.refresh_from_db()
    assert buyer.birthday == date(1995, 8, 17)
    assert "1995-08-17" in client.get(reverse("shop:account")).content.decode()
    client.post(reverse("shop:birthday"), {"birthday": ""})
    buyer.refresh_from_db()
    assert buyer.birthday is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ((timezone.localdate() + timedelta(days=1)).isoformat(), "生日不能晚于今天"),
        ("1850-01-01", "生日不能早于 120 年前"),
        ("not-a-day", "请按日期填写生日"),
    ],
)
def test_a_wrong_birthday_is_refused_in_chinese(client, typed, message):
    buyer = buyer_with()
    client.force_login(buyer)
    page = client.post(reverse("shop:birthday"), {"birthday": typed})
    assert page.status_code == 200
    assert message in page.content.decode()
    buyer.refresh_from_db()
    assert buyer.birthday is None


def test_the_buyer_admin_shows_the_birthday(client, role_user):
    buyer = buyer_with(birthday=date(1990, 5, 6))
    client.force_login(role_user("support"))
    page = client.get(reverse("admin:users_buyer_change", args=[buyer.pk]))
    assert page.status_code == 200
    assert "生日" in page.content.decode() and "1990" in page.content.decode()
