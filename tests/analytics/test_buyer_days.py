"""Buyer days (analytics.BuyerDay) equal a direct reading of the orders: a
buyer on two Asia/Shanghai days, refunds, day boundaries, orders placed and
paid later; the refresh catches up with a new sale and a refund; unique buyers
are each counted once over a period; the coupon cost of the sales rollups is
what the orders' coupons took off; the dashboard reads the rollups in a bounded
number of statements."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from analytics.dashboard import (
    GUEST,
    NO_LEVEL,
    Period,
    Scope,
    compare,
    period_figures,
)
from analytics.models import BuyerDay, SalesRollup
from analytics.rollups import rebuild_rollups, refresh_rollups
from orders.models import Order
from tests.analytics.factories import SHANGHAI, at, sold
from tests.catalog.factories import make_category, make_product, make_sku
from tests.orders.factories import make_buyer
from users.models import MemberLevel, ProductView

pytestmark = pytest.mark.django_db

WEEK = Period(since=date(2026, 11, 16), until=date(2026, 11, 22))


def coupon_breakdown(total: str, off: str | None) -> dict:
    layers = [{"code": "base", "label": "售价", "unit_price": total, "note": ""}]
    if off is not None:
        layers.append(
            {
                "code": "coupon",
                "label": "优惠券",
                "unit_price": total,
                "note": "满50减10",
                "amount_off": off,
            }
        )
    return {"total": total, "layers": layers}


@pytest.fixture
def shop():
    gold = MemberLevel.objects.create(code="gold", name="黄金", rank=3)
    phone = make_category("话费充值")
    mobile = make_sku(
        product=make_product(category=make_category("中国移动", parent=phone)),
        price=Decimal("49.50"),
        cost_price=Decimal("45.00"),
    )
    qq = make_sku(
        product=make_product(category=make_category("游戏点卡")),
        price=Decimal("9.80"),
        cost_price=Decimal("8.00"),
    )
    vip, plain = make_buyer(member_level=gold), make_buyer()
    orders = [
        sold(sku=mobile, buyer=vip, paid_at=at("2026-11-19 23:59")),  # Thursday
        sold(sku=mobile, buyer=vip, paid_at=at("2026-11-20 00:00"), quantity=2),
        sold(sku=qq, buyer=vip, paid_at=at("2026-11-20 00:00")),  # the same second
        sold(sku=qq, buyer=vip, paid_at=at("2026-11-20 07:59")),  # 23:59 UTC
        sold(sku=qq, buyer=plain, paid_at=at("2026-11-20 08:30"), quantity=5),
        sold(sku=qq, paid_at=at("2026-11-20 08:45")),  # a guest
        sold(
            sku=mobile,
            buyer=plain,
            paid_at=at("2026-11-20 20:10"),
            refunded="20.00",
            status=Order.Status.PARTIALLY_REFUNDED,
        ),
        sold(
            sku=qq,
            buyer=plain,
            paid_at=at("2026-11-21 00:00"),  # Saturday: plain's second day
            refunded="9.80",
            status=Order.Status.REFUNDED,
        ),
    ]
    # Placed on Friday, never paid; placed on Friday, paid on Saturday.
    unpaid = sold(sku=qq, buyer=plain, paid_at=at("2026-11-20 12:00"))
    Order.objects.filter(pk=unpaid.pk).update(
        paid_at=None, status=Order.Status.PENDING_PAYMENT
    )
    late = sold(sku=qq, buyer=vip, paid_at=at("2026-11-21 09:00"))
    for order in [*orders, unpaid, late]:
        Order.objects.filter(pk=order.pk).update(
            created_at=order.paid_at - timedelta(minutes=1)
            if order.pk not in (unpaid.pk, late.pk)
            else at("2026-11-20 23:58")
        )
    # Coupons on two orders (the breakdown checkout stores).
    Order.objects.filter(pk=orders[1].pk).update(
        price_breakdown=coupon_breakdown("99.00", "10.00")
    )
    Order.objects.filter(pk=orders[6].pk).update(
        price_breakdown=coupon_breakdown("49.50", "5.50")
    )
    ProductView.objects.create(
        user=plain, product_id=mobile.product_id, created_at=at("2026-11-20 08:00")
    )
    return {"gold": gold, "vip": vip, "plain": plain, "mobile": mobile, "qq": qq}


def expected_buyer_days() -> dict[tuple[date, int], dict]:
    """What a person reads from the orders, per shop day and buyer."""
    days: dict[tuple[date, int], dict] = defaultdict(
        lambda: {
            "orders": 0,
            "gmv": Decimal("0.00"),
            "refunds": Decimal("0.00"),
            "placed": 0,
            "placed_paid": 0,
            "paid_at": [],
        }
    )
    for order in Order.objects.filter(buyer__isnull=False):
        placed = days[(order.created_at.astimezone(SHANGHAI).date(), order.buyer_id)]
        placed["placed"] += 1
        placed["placed_paid"] += order.paid_at is not None
        if order.paid_at is None:
            continue
        paid = days[(order.paid_at.astimezone(SHANGHAI).date(), order.buyer_id)]
        paid["orders"] += 1
        paid["gmv"] += order.amount
        paid["refunds"] += order.refunded_amount
        paid["paid_at"].append(order.paid_at)
    found = {}
    for key, row in days.items():
        moments = sorted(set(row.pop("paid_at")))
        row["first_paid_at"] = moments[0] if moments else None
        row["second_paid_at"] = moments[1] if len(moments) > 1 else None
        found[key] = row
    return found


def rolled_up_buyer_days() -> dict[tuple[date, int], dict]:
    return {
        (row.day, row.user_id): {
            "orders": row.orders,
            "gmv": row.gmv,
            "refunds": row.refunds,
            "placed": row.placed,
            "placed_paid": row.placed_paid,
            "first_paid_at": row.first_paid_at,
            "second_paid_at": row.second_paid_at,
        }
        for row in BuyerDay.objects.all()
    }


def test_buyer_days_equal_the_orders(shop):
    rebuild_rollups(since=date(2026, 11, 16), until=date(2026, 11, 22))
    assert rolled_up_buyer_days() == expected_buyer_days()
    vip, plain = shop["vip"].pk, shop["plain"].pk
    friday = BuyerDay.objects.get(day=date(2026, 11, 20), user_id=vip)
    # 00:00 twice (the same second) and 07:59: the second payment is 07:59.
    assert (friday.orders, friday.gmv) == (3, Decimal("118.60"))
    assert friday.first_paid_at == at("2026-11-20 00:00")
    assert friday.second_paid_at == at("2026-11-20 07:59")
    # Placed on Friday: 07:59's order and the one paid on Saturday morning.
    assert (friday.placed, friday.placed_paid) == (2, 2)
    assert friday.member_level_id == shop["gold"].pk
    saturday = BuyerDay.objects.get(day=date(2026, 11, 21), user_id=plain)
    assert (saturday.orders, saturday.refunds) == (1, Decimal("9.80"))
    plain_friday = BuyerDay.objects.get(day=date(2026, 11, 20), user_id=plain)
    # 08:30, 20:10, the unpaid one and Saturday 00:00's (placed at 23:59).
    assert (plain_friday.placed, plain_friday.placed_paid) == (4, 3)
    assert (plain_friday.visits, plain_friday.views) == (1, 1)
    assert not BuyerDay.objects.filter(user_id=None).exists()  # guests have none


def test_unique_buyers_count_a_buyer_once_over_the_period(shop):
    rebuild_rollups(since=date(2026, 11, 16), until=date(2026, 11, 22))
    direct = (
        Order.objects.filter(
            paid_at__gte=at("2026-11-16 00:00"), paid_at__lt=at("2026-11-23 00:00")
        )
        .values("buyer_id")
        .exclude(buyer_id=None)
        .distinct()
        .count()
    )
    week = period_figures(period=WEEK)
    assert week.buyers == direct == 2  # vip and plain, each on several days
    assert week == period_figures(period=WEEK, raw=True)
    scopes = [
        Scope(level=shop["gold"].pk),
        Scope(level=NO_LEVEL),
        Scope(level=GUEST),
        Scope(weekday=6),
        Scope(level=NO_LEVEL, weekday=5),
        Scope(sku=shop["qq"].pk),  # not on a buyer day: read from orders
    ]
    for scope in scopes:
        assert period_figures(period=WEEK, scope=scope) == period_figures(
            period=WEEK, scope=scope, raw=True
        ), scope
    assert period_figures(period=WEEK, scope=Scope(level=GUEST)).buyers == 0
    assert period_figures(period=WEEK, scope=Scope(weekday=6)).buyers == 2


def test_the_refresh_catches_up_with_a_new_sale_and_a_refund(shop):
    refresh_rollups()
    assert rolled_up_buyer_days() == expected_buyer_days()

    newcomer = make_buyer()
    sold(sku=shop["qq"], buyer=newcomer, paid_at=timezone.now())
    refresh_rollups()
    today = timezone.localdate()
    assert BuyerDay.objects.get(day=today, user_id=newcomer.pk).orders == 1
    assert rolled_up_buyer_days() == expected_buyer_days()

    refunded = Order.objects.get(buyer=shop["plain"], quantity=5)
    refunded.refunded_amount = refunded.amount
    refunded.status = Order.Status.REFUNDED
    refunded.save(update_fields=["refunded_amount", "status", "updated_at"])
    refresh_rollups()
    assert rolled_up_buyer_days() == expected_buyer_days()
    friday = BuyerDay.objects.get(day=date(2026, 11, 20), user_id=shop["plain"].pk)
    assert friday.refunds == Decimal("69.00")  # 49.00 + 20.00


def test_a_product_view_today_reaches_the_funnel_on_the_next_refresh(shop):
    refresh_rollups()
    viewer = make_buyer()
    ProductView.objects.create(user=viewer, product_id=shop["qq"].product_id)
    refresh_rollups()
    row = BuyerDay.objects.get(user_id=viewer.pk)
    assert (row.day, row.visits, row.views, row.orders) == (
        timezone.localdate(),
        1,
        1,
        0,
    )


def test_coupon_cost_is_what_the_orders_coupons_took_off(shop):
    rebuild_rollups(since=date(2026, 11, 16), until=date(2026, 11, 22))
    total = SalesRollup.objects.aggregate(n=Sum("coupon_cost"))["n"]
    assert total == Decimal("15.50")  # 10.00 + 5.50
    friday = period_figures(period=Period(date(2026, 11, 20), date(2026, 11, 20)))
    assert friday.coupon_cost == Decimal("15.50")
    assert friday == period_figures(
        period=Period(date(2026, 11, 20), date(2026, 11, 20)), raw=True
    )
    assert period_figures(period=WEEK.previous()).coupon_cost == Decimal("0.00")
    metrics = {
        m.code: m
        for m in compare(friday, period_figures(period=WEEK.previous()), with_cost=True)
    }
    assert metrics["coupon_cost"].value == Decimal("15.50")
    assert metrics["coupon_cost"].trend == "bad"  # more given away
    without = {m.code for m in compare(friday, friday, with_cost=False)}
    assert "coupon_cost" not in without and "gross_profit" not in without


def test_an_order_without_a_breakdown_has_no_coupon_cost(db):
    sku = make_sku(price=Decimal("10.00"))
    order = sold(sku=sku, buyer=make_buyer(), paid_at=at("2026-11-20 10:00"))
    Order.objects.filter(pk=order.pk).update(price_breakdown={"layers": "bad"})
    sold(sku=sku, buyer=make_buyer(), paid_at=at("2026-11-20 11:00"))
    rebuild_rollups(since=date(2026, 11, 20), until=date(2026, 11, 20))
    assert SalesRollup.objects.aggregate(n=Sum("coupon_cost"))["n"] == Decimal("0")


@pytest.mark.parametrize("role, sees_cost", [("finance", True), ("marketing", False)])
def test_the_home_shows_coupon_cost_beside_profit_only_with_cost(
    client, role_user, role, sees_cost
):
    sku = make_sku(price=Decimal("49.50"), cost_price=Decimal("40.00"))
    order = sold(
        sku=sku,
        buyer=make_buyer(),
        paid_at=timezone.localtime().replace(hour=10, minute=0) - timedelta(days=1),
    )
    Order.objects.filter(pk=order.pk).update(
        price_breakdown=coupon_breakdown("49.50", "7.25")
    )
    rebuild_rollups(since=timezone.localdate() - timedelta(days=40))
    client.force_login(role_user(role))
    page = client.get("/admin/", {"period": "7d"}).content.decode()
    assert ('data-testid="kpi-coupon_cost"' in page) == sees_cost
    assert ("¥7.25" in page) == sees_cost


def test_the_home_reads_a_bounded_number_of_statements(
    client, role_user, django_assert_max_num_queries
):
    sku = make_sku(price=Decimal("9.80"))
    yesterday = timezone.localtime().replace(hour=9, minute=0) - timedelta(days=1)
    buyers = [make_buyer() for _ in range(5)]
    for buyer in buyers:
        for _ in range(3):
            sold(sku=sku, buyer=buyer, paid_at=yesterday)
        ProductView.objects.create(user=buyer, product_id=sku.product_id)
    rebuild_rollups(since=timezone.localdate() - timedelta(days=70))
    client.force_login(role_user("superadmin"))
    client.get("/admin/", {"period": "30d"})  # warm: sessions, permissions
    with django_assert_max_num_queries(40) as captured:
        response = client.get("/admin/", {"period": "30d"})
    assert response.status_code == 200
    orders_table = Order._meta.db_table
    reads_orders = [
        query["sql"]
        for query in captured.captured_queries
        if f'FROM "{orders_table}"' in query["sql"]
    ]
    assert reads_orders == []  # every sales figure from the rollups
