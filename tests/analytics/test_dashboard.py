"""The dashboard's figures on a hand-made shop: KPI arithmetic with refunds and
Asia/Shanghai day boundaries, the change against the previous period, rollup
figures equal to a count over orders for every drill-down, the funnel and the
signup cohorts; `manage.py kpis` prints the dashboard's own totals."""

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from analytics.dashboard import (
    GUEST,
    NO_LEVEL,
    Period,
    Sales,
    Scope,
    cohorts,
    compare,
    funnel,
    period_figures,
    sales_mix,
    weekday_hours,
)
from analytics.rollups import rebuild_rollups
from marketing.models import Segment, SegmentMember
from orders.models import Order
from tests.analytics.factories import at, sold
from tests.catalog.factories import make_category, make_product, make_sku
from tests.orders.factories import make_buyer
from users.models import BehaviourDay, LoginEvent, MemberLevel, ProductView

pytestmark = pytest.mark.django_db

FRIDAY = Period(since=date(2026, 11, 20), until=date(2026, 11, 20))


@pytest.fixture
def shop():
    gold = MemberLevel.objects.create(code="gold", name="黄金", rank=3)
    phone = make_category("话费充值")
    mobile_category = make_category("中国移动", parent=phone)
    games = make_category("游戏点卡")
    mobile = make_sku(
        product=make_product(name="移动快充", category=mobile_category),
        price=Decimal("49.50"),
        cost_price=Decimal("45.00"),
    )
    qq = make_sku(
        product=make_product(name="Q币", category=games),
        price=Decimal("9.80"),
        cost_price=Decimal("8.00"),
    )
    vip, plain = make_buyer(member_level=gold), make_buyer()
    # Thursday one minute before midnight: the previous day, in shop time.
    sold(sku=mobile, buyer=vip, paid_at=at("2026-11-19 23:59"))
    sold(sku=mobile, buyer=vip, paid_at=at("2026-11-20 00:00"), quantity=2)
    sold(sku=qq, buyer=plain, paid_at=at("2026-11-20 08:30"), quantity=5)
    sold(sku=qq, paid_at=at("2026-11-20 08:45"))  # a guest
    sold(
        sku=mobile,
        buyer=plain,
        paid_at=at("2026-11-20 20:10"),
        refunded="20.00",
        status=Order.Status.PARTIALLY_REFUNDED,
    )
    sold(  # refunded in full: GMV and refund, no cost
        sku=qq,
        buyer=vip,
        paid_at=at("2026-11-20 23:59"),
        refunded="9.80",
        status=Order.Status.REFUNDED,
    )
    sold(sku=mobile, buyer=vip, paid_at=at("2026-11-21 00:00"))  # Saturday
    rebuild_rollups(since=date(2026, 11, 18), until=date(2026, 11, 22))
    return {
        "gold": gold,
        "phone": phone,
        "mobile_category": mobile_category,
        "games": games,
        "mobile": mobile,
        "qq": qq,
        "vip": vip,
        "plain": plain,
    }


def test_kpis_of_a_shanghai_day_with_refunds(shop):
    friday = period_figures(period=FRIDAY)
    assert friday.orders == 5  # 23:59 Thursday and 00:00 Saturday left out
    assert friday.units == 2 + 5 + 1 + 1 + 1
    assert friday.gmv == Decimal("217.10")  # 99.00 + 49.00 + 9.80 + 49.50 + 9.80
    assert friday.refunds == Decimal("29.80")
    assert friday.average_order_value == Decimal("43.42")
    assert friday.refund_rate == Decimal("13.7")  # 29.80 / 217.10
    # Cost of orders kept: 2×45 + 5×8 + 8 + 45 (the full refund has none).
    assert friday.gross_profit == Decimal("217.10") - Decimal("29.80") - 183
    assert friday.buyers == 2  # the guest is no buyer account


def test_each_kpi_changes_against_the_previous_period(shop):
    current = period_figures(period=FRIDAY)
    previous = period_figures(period=FRIDAY.previous())
    assert FRIDAY.previous() == Period(
        since=date(2026, 11, 19), until=date(2026, 11, 19)
    )
    metrics = {m.code: m for m in compare(current, previous, with_cost=True)}
    assert metrics["gmv"].previous == Decimal("49.50")
    assert metrics["gmv"].difference == Decimal("167.60")
    assert metrics["gmv"].change == Decimal("338.6")
    assert (
        metrics["orders"].change == Decimal("400.0")
        and metrics["orders"].trend == "good"
    )
    assert metrics["average_order_value"].difference == Decimal("-6.08")
    assert metrics["average_order_value"].trend == "bad"
    # Refunds going up is bad; a rate's difference is in points.
    assert metrics["refund_rate"].previous == Decimal("0.0")
    assert metrics["refund_rate"].difference == Decimal("13.7")
    assert metrics["refund_rate"].trend == "bad"
    assert metrics["gross_profit"].previous == Decimal("4.50")
    assert "gross_profit" not in {
        m.code for m in compare(current, previous, with_cost=False)
    }


def cells(sales: Sales, dims) -> list[tuple]:
    return sorted(
        tuple(row[d] for d in (*dims, "orders", "units", "gmv", "refunds", "cost"))
        for row in sales.grouped(dims)
    )


def test_rollup_figures_equal_orders_for_every_drill_down(shop):
    week = Period(since=date(2026, 11, 16), until=date(2026, 11, 22))
    scopes = [
        Scope(),
        Scope(category=shop["phone"].pk),
        Scope(category=shop["mobile_category"].pk),  # a sub-category
        Scope(category=shop["games"].pk, product=shop["qq"].product_id),
        Scope(sku=shop["mobile"].pk),
        Scope(level=shop["gold"].pk),
        Scope(level=GUEST),
        Scope(level=NO_LEVEL),
        Scope(weekday=5),
        Scope(weekday=5, hour=8),
    ]
    dims = ("day", "hour", "weekday", "sku", "category", "level")
    for scope in scopes:
        rolled = Sales(period=week, scope=scope)
        counted = Sales(period=week, scope=scope, raw=True)
        assert not rolled.raw and counted.raw
        assert cells(rolled, dims) == cells(counted, dims), scope
        assert rolled.totals() == counted.totals(), scope
        assert period_figures(period=week, scope=scope) == period_figures(
            period=week, scope=scope, raw=True
        )
    assert Sales(period=week, scope=Scope(level=GUEST)).totals()["orders"] == 1
    assert Sales(period=week, scope=Scope(weekday=5, hour=8)).totals()["orders"] == 2


def test_a_segment_is_read_from_orders(shop):
    segment = Segment.objects.create(name="常客")
    SegmentMember.objects.create(segment=segment, user=shop["plain"])
    sales = Sales(period=FRIDAY, scope=Scope(segment=segment.pk))
    assert sales.raw
    totals = sales.totals()
    assert totals["orders"] == 2 and totals["gmv"] == Decimal("98.50")


def test_the_mix_drills_from_category_to_product_to_sku(shop):
    level, rows = sales_mix(Sales(period=FRIDAY))
    assert level == "category"
    assert [(r.name, r.gmv) for r in rows] == [
        ("话费充值", Decimal("148.50")),
        ("游戏点卡", Decimal("68.60")),
    ]
    assert rows[0].drill == {"category": shop["phone"].pk}
    level, rows = sales_mix(
        Sales(period=FRIDAY, scope=Scope(category=shop["phone"].pk))
    )
    assert level == "product"
    assert [(r.name, r.drill) for r in rows] == [
        ("移动快充", {"product": shop["mobile"].product_id})
    ]
    level, rows = sales_mix(
        Sales(period=FRIDAY, scope=Scope(product=shop["mobile"].product_id))
    )
    assert level == "sku" and rows[0].drill == {"sku": shop["mobile"].pk}


def test_orders_by_weekday_and_hour(shop):
    heat = weekday_hours(
        Sales(period=Period(since=date(2026, 11, 19), until=date(2026, 11, 21)))
    )
    assert heat == {(23, 4): 1, (0, 5): 1, (8, 5): 2, (20, 5): 1, (23, 5): 1, (0, 6): 1}


def test_manage_kpis_prints_the_dashboards_totals(shop):
    out = StringIO()
    call_command(
        "kpis", "--since", "2026-11-20", "--until", "2026-11-20", "--json", stdout=out
    )
    printed = json.loads(out.getvalue().splitlines()[-1])
    friday = period_figures(period=FRIDAY)
    assert printed["gmv"] == str(friday.gmv) == "217.10"
    assert printed["orders"] == friday.orders
    assert printed["gross_profit"] == str(friday.gross_profit)


def test_the_funnel_counts_nested_steps_of_signed_in_buyers(shop):
    seen, viewer, orderer, payer, late, failed = (make_buyer() for _ in range(6))
    LoginEvent.objects.create(
        user=seen, success=True, area="shop", created_at=at("2026-11-20 10:00")
    )
    LoginEvent.objects.create(
        user=failed, success=False, area="shop", created_at=at("2026-11-20 10:00")
    )
    for user in (viewer, orderer):
        ProductView.objects.create(
            user=user,
            product_id=shop["qq"].product_id,
            created_at=at("2026-11-20 00:01"),
        )
    ProductView.objects.create(  # Saturday already
        user=late, product_id=shop["qq"].product_id, created_at=at("2026-11-21 00:00")
    )
    BehaviourDay.objects.create(
        day=date(2026, 11, 20), user=payer, kind=BehaviourDay.Kind.VIEW, count=3
    )
    pending = sold(sku=shop["qq"], buyer=orderer, paid_at=at("2026-11-20 12:00"))
    Order.objects.filter(pk=pending.pk).update(
        paid_at=None,
        status=Order.Status.PENDING_PAYMENT,
        created_at=at("2026-11-20 12:00"),
    )
    paid = sold(sku=shop["qq"], buyer=payer, paid_at=at("2026-11-20 13:00"))
    Order.objects.filter(pk=paid.pk).update(created_at=at("2026-11-20 12:59"))
    rebuild_rollups(since=date(2026, 11, 18), until=date(2026, 11, 22))
    result = funnel(FRIDAY)
    assert result == funnel(FRIDAY, raw=True)  # the buyer days = the events
    assert (result.visitors, result.viewers, result.ordered, result.paid) == (
        4,
        3,
        2,
        1,
    )
    assert result.conversion == Decimal("25.0")
    steps = result.steps()
    assert [s["count"] for s in steps] == [4, 3, 2, 1]
    assert steps[3]["of_previous"] == Decimal("50.0")


def test_signup_cohorts_by_shanghai_week_with_repeat_rates(db):
    sku = make_sku(price=Decimal("10.00"))

    def joined(text):
        return make_buyer(date_joined=at(text))

    quick, weekly, once, idle = (
        joined("2026-11-02 10:00"),  # Monday
        joined("2026-11-04 09:00"),
        joined("2026-11-06 18:00"),
        joined("2026-11-08 23:30"),  # Sunday night: the same week
    )
    sunday = joined("2026-11-01 23:30")  # 15:30 UTC: the week before
    joined("2026-11-23 08:00")  # this week: too young for any rate
    sold(sku=sku, buyer=quick, paid_at=at("2026-11-03 10:00"))
    sold(sku=sku, buyer=quick, paid_at=at("2026-11-03 20:00"))  # within a day
    sold(sku=sku, buyer=weekly, paid_at=at("2026-11-05 10:00"))
    sold(sku=sku, buyer=weekly, paid_at=at("2026-11-10 10:00"))  # five days on
    sold(sku=sku, buyer=once, paid_at=at("2026-11-07 10:00"))
    sold(sku=sku, buyer=sunday, paid_at=at("2026-11-02 09:00"))
    assert idle.orders.count() == 0
    rebuild_rollups(since=date(2026, 10, 26), until=date(2026, 11, 25))
    found = {c.week: c for c in cohorts(weeks=5, on=date(2026, 11, 25))}
    assert list(found.values()) == cohorts(weeks=5, on=date(2026, 11, 25), raw=True)
    assert list(found) == [
        date(2026, 11, 23),
        date(2026, 11, 16),
        date(2026, 11, 9),
        date(2026, 11, 2),
        date(2026, 10, 26),
    ]
    week = found[date(2026, 11, 2)]
    assert (week.size, week.buyers, week.buyer_rate) == (4, 3, Decimal("75.0"))
    assert week.rates == [Decimal("25.0"), Decimal("50.0"), None]  # D30 not yet
    before = found[date(2026, 10, 26)]
    assert (before.size, before.rates[:2]) == (1, [Decimal("0.0"), Decimal("0.0")])
    young = found[date(2026, 11, 23)]
    assert young.size == 1 and young.rates == [None, None, None]
    nobody = found[date(2026, 11, 16)]
    assert nobody.size == 0 and nobody.rates == [None, None, None]


def test_an_empty_period_has_no_rates_and_no_change(db):
    empty = period_figures(period=FRIDAY)
    assert empty.orders == 0 and empty.gmv == Decimal("0.00")
    assert empty.refund_rate is None and empty.conversion is None
    metrics = {m.code: m for m in compare(empty, empty, with_cost=False)}
    assert metrics["gmv"].change is None and metrics["gmv"].trend == "flat"
    assert metrics["conversion"].difference is None
    assert FRIDAY.previous().previous().until == date(2026, 11, 18)
    assert Period(
        since=date(2026, 11, 1), until=date(2026, 11, 30)
    ).previous() == Period(since=date(2026, 10, 2), until=date(2026, 10, 31))
