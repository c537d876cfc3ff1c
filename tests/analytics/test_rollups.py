"""Sales rollups equal a direct count over orders: refunds, guests, levels,
payment methods, and Asia/Shanghai day and hour boundaries; the incremental
refresh catches up with refunds and new sales; `manage.py kpis` reads them."""

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from analytics.models import BuyerDay, SalesRollup
from analytics.rollups import rebuild_rollups, refresh_rollups
from analytics.tasks import close_rollups_task, refresh_rollups_task
from orders.models import Order
from tests.analytics.factories import SHANGHAI, at, sold
from tests.catalog.factories import make_category, make_product, make_sku
from tests.orders.factories import make_buyer
from users.models import MemberLevel

pytestmark = pytest.mark.django_db

FIGURES = ("orders", "units", "gmv", "refunds", "cost")


@pytest.fixture
def history():
    gold = MemberLevel.objects.create(code="gold", name="黄金", rank=3)
    phone = make_category("话费充值")
    mobile = make_sku(
        product=make_product(category=make_category("中国移动", parent=phone)),
        price=Decimal("49.50"),
        cost_price=Decimal("48.00"),
    )
    qq = make_sku(
        product=make_product(category=make_category("游戏点卡")),
        price=Decimal("9.80"),
        cost_price=Decimal("9.00"),
    )
    vip, plain = make_buyer(member_level=gold), make_buyer()
    orders = [
        sold(sku=mobile, buyer=vip, paid_at=at("2026-11-19 23:59")),
        sold(sku=mobile, buyer=vip, paid_at=at("2026-11-20 00:00"), quantity=2),
        sold(sku=qq, buyer=plain, paid_at=at("2026-11-20 08:30"), quantity=5),
        sold(sku=qq, paid_at=at("2026-11-20 08:45")),  # a guest
        sold(  # refunded in part
            sku=mobile,
            buyer=plain,
            paid_at=at("2026-11-20 20:10"),
            refunded="20.00",
            status=Order.Status.PARTIALLY_REFUNDED,
        ),
        sold(  # refunded in full: counted, with no cost
            sku=qq,
            buyer=vip,
            paid_at=at("2026-11-20 20:20"),
            refunded="9.80",
            status=Order.Status.REFUNDED,
        ),
        sold(sku=qq, buyer=vip, paid_at=at("2026-11-20 23:30")),  # 15:30 UTC
        sold(sku=qq, buyer=vip, paid_at=at("2026-11-21 00:10")),  # the 20th in UTC
    ]
    orders[-1].payment_method = Order.PaymentMethod.GATEWAY
    orders[-1].save(update_fields=["payment_method"])
    return SimpleNamespace(orders=orders, phone=phone)


def expected_by_day() -> dict[date, dict]:
    """What a person would count from the orders themselves, day by day."""
    days: dict[date, dict] = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    for order in Order.objects.filter(paid_at__isnull=False).select_related("sku"):
        figures = days[order.paid_at.astimezone(SHANGHAI).date()]
        figures["orders"] += 1
        figures["units"] += order.quantity
        figures["gmv"] += order.amount
        figures["refunds"] += order.refunded_amount
        if order.status != Order.Status.REFUNDED:
            figures["cost"] += order.sku.cost_price * order.quantity
    return dict(days)


def rolled_up_by_day() -> dict[date, dict]:
    rows = SalesRollup.objects.values("day").annotate(
        **{name: Sum(name) for name in FIGURES}
    )
    return {row.pop("day"): row for row in rows}


def test_rollups_equal_the_orders_day_by_day(history):
    written = rebuild_rollups(since=date(2026, 11, 1), until=date(2026, 11, 30))
    assert written == SalesRollup.objects.count() + BuyerDay.objects.count()
    assert rolled_up_by_day() == expected_by_day()
    assert sorted(rolled_up_by_day()) == [
        date(2026, 11, 19),
        date(2026, 11, 20),
        date(2026, 11, 21),
    ]
    late = SalesRollup.objects.get(day=date(2026, 11, 20), hour=23)
    assert (late.orders, late.gmv, late.buyers) == (1, Decimal("9.80"), 1)
    guests = SalesRollup.objects.get(guest=True)
    assert (guests.hour, guests.member_level_id, guests.buyers) == (8, None, 0)
    evening = SalesRollup.objects.filter(day=date(2026, 11, 20), hour=20)
    assert evening.aggregate(Sum("refunds"))["refunds__sum"] == Decimal("29.80")
    assert SalesRollup.objects.get(day=date(2026, 11, 21)).payment_method == "gateway"


def test_a_rebuild_leaves_other_days_alone_and_replaces_its_own(history):
    rebuild_rollups(since=date(2026, 11, 19), until=date(2026, 11, 21))
    before = SalesRollup.objects.filter(day=date(2026, 11, 19)).count()
    rebuild_rollups(since=date(2026, 11, 20), until=date(2026, 11, 20))
    rebuild_rollups(since=date(2026, 11, 20), until=date(2026, 11, 20))
    assert SalesRollup.objects.filter(day=date(2026, 11, 19)).count() == before
    assert rolled_up_by_day() == expected_by_day()


def test_the_refresh_catches_up_with_refunds_and_new_sales(history):
    assert refresh_rollups() == [
        date(2026, 11, 19),
        date(2026, 11, 20),
        date(2026, 11, 21),
    ]
    assert rolled_up_by_day() == expected_by_day()

    refunded = history.orders[2]
    refunded.refunded_amount = refunded.amount
    refunded.status = Order.Status.REFUNDED
    refunded.save(update_fields=["refunded_amount", "status", "updated_at"])
    sold(sku=refunded.sku, buyer=refunded.buyer, paid_at=timezone.now())
    refresh_rollups_task.delay()  # the beat entry, every two minutes

    assert rolled_up_by_day() == expected_by_day()
    assert expected_by_day()[date(2026, 11, 20)]["refunds"] == Decimal("78.80")
    close_rollups_task.delay()  # the nightly close changes nothing here
    assert rolled_up_by_day() == expected_by_day()


def test_kpis_for_a_period_as_json(history):
    rebuild_rollups(since=date(2026, 11, 1), until=date(2026, 11, 30))
    out = StringIO()
    call_command(
        "kpis", "--since", "2026-11-20", "--until", "2026-11-20", "--json", stdout=out
    )
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    # the 20th: 2×49.50 + 5×9.80 + 9.80 + 49.50 + 9.80 + 9.80
    assert figures == {
        "since": "2026-11-20",
        "until": "2026-11-20",
        "gmv": "226.90",
        "orders": 6,
        "units": 11,
        "buyers": 2,
        "average_order_value": "37.82",
        "refund_amount": "29.80",
        # 226.90 − 29.80 − (3×48.00 + 7×9.00): the full refund carries no cost
        "gross_profit": "-9.90",
    }
    out = StringIO()
    call_command(
        "kpis",
        "--since=2026-11-19",
        "--until=2026-11-21",
        "--category",
        history.phone.slug,
        "--json",
        stdout=out,
    )
    phone = json.loads(out.getvalue())
    assert (phone["orders"], phone["gmv"]) == (3, "198.00")  # 49.50 + 99.00 + 49.50


def test_the_commands_refuse_what_is_no_period(history):
    with pytest.raises(CommandError, match="Not a date"):
        call_command("rebuild_rollups", "--since", "2026-13-01")
    with pytest.raises(CommandError, match="before"):
        call_command("kpis", "--since", "2026-11-20", "--until", "2026-11-19")
    with pytest.raises(CommandError, match="slug"):
        call_command(
            "kpis", "--since=2026-11-20", "--until=2026-11-20", "--category=没有"
        )
    out = StringIO()
    call_command("rebuild_rollups", "--since", "2026-11-19", stdout=out)
    assert out.getvalue().startswith("Rebuilt ")
