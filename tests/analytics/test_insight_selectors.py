"""The insight selectors on hand-made sales: demand by hour × category, what each
member level buys, and how levels grow (Asia/Shanghai days and hours)."""

from datetime import date
from decimal import Decimal

import pytest

from analytics.selectors import (
    GUEST,
    NO_LEVEL,
    hour_category_demand,
    level_category_mix,
    level_growth,
    segment_category_mix,
)
from marketing.models import Segment, SegmentMember
from orders.models import Order
from tests.analytics.factories import at, sold
from tests.catalog.factories import make_category, make_product, make_sku
from tests.orders.factories import make_buyer
from users.models import LevelChange, MemberLevel, User

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 20)


@pytest.fixture
def catalogue():
    phone = make_category("话费充值")
    games = make_category("游戏点卡")
    return {
        "mobile": make_sku(
            product=make_product(
                name="移动话费快充", category=make_category("中国移动", parent=phone)
            ),
            price=Decimal("49.50"),
            cost_price=Decimal("48.00"),
        ),
        "unicom": make_sku(
            product=make_product(
                name="联通话费快充", category=make_category("中国联通", parent=phone)
            ),
            price=Decimal("99.00"),
            cost_price=Decimal("97.00"),
        ),
        "qq": make_sku(
            product=make_product(name="Q币直充", category=games),
            price=Decimal("9.80"),
            cost_price=Decimal("9.00"),
        ),
        "phone": phone,
        "games": games,
    }


def test_phone_credit_peaks_at_20_00_shop_time(catalogue):
    buyer = make_buyer()
    for minute in ("20:05", "20:40", "20:59"):
        sold(sku=catalogue["mobile"], buyer=buyer, paid_at=at(f"2026-11-20 {minute}"))
    sold(sku=catalogue["unicom"], buyer=buyer, paid_at=at("2026-11-20 20:30"))
    sold(sku=catalogue["mobile"], buyer=buyer, paid_at=at("2026-11-20 09:15"))
    sold(sku=catalogue["qq"], buyer=buyer, paid_at=at("2026-11-20 12:00"), quantity=3)
    sold(sku=catalogue["qq"], paid_at=at("2026-11-20 12:30"))  # a guest
    # 23:30 in Shanghai is 15:30 UTC: hour 23 of the 20th
    sold(sku=catalogue["qq"], buyer=buyer, paid_at=at("2026-11-20 23:30"))
    # 00:10 on the 21st in Shanghai is still the 20th in UTC: outside the period
    sold(sku=catalogue["mobile"], buyer=buyer, paid_at=at("2026-11-21 00:10"))
    # before the period, and never paid
    sold(sku=catalogue["mobile"], buyer=buyer, paid_at=at("2026-11-19 20:00"))
    Order.objects.create(
        order_no="UNPAID1",
        buyer=buyer,
        sku=catalogue["mobile"],
        quantity=1,
        unit_price=1,
        amount=1,
    )

    demand = hour_category_demand(since=DAY, until=DAY)

    phone, games = catalogue["phone"].pk, catalogue["games"].pk
    assert demand.categories == [(phone, "话费充值"), (games, "游戏点卡")]
    assert demand.peak_hour(phone) == 20
    assert demand.value(20, phone) == 4  # 中国移动 and 中国联通 together
    assert demand.value(9, phone) == 1
    assert demand.value(0, phone) == 0
    assert demand.peak_hour(games) == 12
    assert demand.value(12, games) == 2
    assert demand.value(12, games, "units") == 4
    assert demand.value(23, games) == 1
    assert demand.value(20, phone, "gmv") == Decimal("247.50")
    assert sum(demand.by_hour(phone)) == 5


def test_what_each_member_level_buys(catalogue):
    bronze = MemberLevel.objects.create(code="bronze", name="青铜", rank=1)
    gold = MemberLevel.objects.create(code="gold", name="黄金", rank=3)
    gold_buyers = [make_buyer(member_level=gold) for _ in range(2)]
    bronze_buyer = make_buyer(member_level=bronze)
    newcomer = make_buyer()
    paid = at("2026-11-20 10:00")
    for buyer in gold_buyers:
        sold(sku=catalogue["unicom"], buyer=buyer, paid_at=paid)
    sold(sku=catalogue["mobile"], buyer=gold_buyers[0], paid_at=paid, quantity=2)
    sold(sku=catalogue["qq"], buyer=gold_buyers[0], paid_at=paid)
    # refunded in part: GMV counts what was kept
    sold(
        sku=catalogue["qq"],
        buyer=bronze_buyer,
        paid_at=paid,
        quantity=5,
        refunded="19.60",
        status=Order.Status.PARTIALLY_REFUNDED,
    )
    # refunded in full: an order, no GMV, and no cost in the estimate
    sold(
        sku=catalogue["mobile"],
        buyer=newcomer,
        paid_at=paid,
        refunded="49.50",
        status=Order.Status.REFUNDED,
    )
    sold(sku=catalogue["qq"], paid_at=paid)  # a guest

    mix = level_category_mix(since=DAY, until=DAY)

    phone, games = catalogue["phone"].pk, catalogue["games"].pk
    assert [name for _key, name in mix.groups] == ["无等级", "青铜", "黄金", "访客"]
    gold_phone = mix.cells[gold.pk, phone]
    assert (gold_phone.orders, gold_phone.units, gold_phone.buyers) == (3, 4, 2)
    assert gold_phone.gmv == Decimal("297.00")  # 2 × 99.00 + 2 × 49.50
    assert gold_phone.profit is None  # no cost unless asked
    assert mix.cells[gold.pk, games].gmv == Decimal("9.80")
    assert mix.cells[bronze.pk, games].gmv == Decimal("29.40")  # 49.00 − 19.60
    assert mix.cells[NO_LEVEL, phone].gmv == Decimal("0.00")
    assert mix.cells[GUEST, games].buyers == 0
    assert mix.categories[0] == (phone, "话费充值")
    shares = {(row["group"], row["category"]): row["share"] for row in mix.rows()}
    assert shares["黄金", "话费充值"] == Decimal("96.8")  # 297.00 of 306.80

    with_cost = level_category_mix(since=DAY, until=DAY, with_cost=True)
    # 297.00 − (2 × 97.00 + 2 × 48.00)
    assert with_cost.cells[gold.pk, phone].profit == Decimal("7.00")
    # 29.40 − 5 × 9.00: a partial refund keeps its cost
    assert with_cost.cells[bronze.pk, games].profit == Decimal("-15.60")
    assert with_cost.cells[NO_LEVEL, phone].profit == Decimal("0.00")


def test_level_growth_counts_members_day_by_day(catalogue):
    silver = MemberLevel.objects.create(code="silver", name="白银", rank=2)
    gold = MemberLevel.objects.create(code="gold", name="黄金", rank=3)
    # today: two gold, one silver, one without a level
    first = make_buyer(member_level=gold)
    second = make_buyer(member_level=gold)
    make_buyer(member_level=silver)
    make_buyer()
    User.objects.create_user(username="staff", is_staff=True)  # not a buyer

    def change(user, source, target, when):
        row = LevelChange.objects.create(
            user=user,
            from_level=source,
            to_level=target,
            growth=Decimal("100.00"),
            reason=LevelChange.Reason.PAYMENT,
        )
        LevelChange.objects.filter(pk=row.pk).update(created_at=at(when))

    change(first, None, silver, "2026-11-18 09:00")
    change(first, silver, gold, "2026-11-20 23:50")  # still the 20th in Shanghai
    change(second, silver, gold, "2026-11-21 00:05")  # the 21st
    change(second, gold, silver, "2026-11-19 12:00")  # down, then up again

    growth = level_growth(since=date(2026, 11, 19), until=date(2026, 11, 21))

    assert growth.days == [date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21)]
    assert growth.members[gold.pk] == [0, 1, 2]
    assert growth.members[silver.pk] == [3, 2, 1]
    assert growth.members[NO_LEVEL] == [1, 1, 1]
    assert growth.change(gold.pk) == 2
    assert (growth.upgrades, growth.downgrades) == (2, 1)


def test_what_each_segment_buys(catalogue):
    high = Segment.objects.create(name="测试高价值")
    dormant = Segment.objects.create(name="测试沉睡")
    Segment.objects.create(name="测试空分群")  # no buyer: not listed
    both, only_high, outsider = make_buyer(), make_buyer(), make_buyer()
    SegmentMember.objects.bulk_create(
        [
            SegmentMember(segment=high, user=both),
            SegmentMember(segment=dormant, user=both),
            SegmentMember(segment=high, user=only_high),
        ]
    )
    paid = at("2026-11-20 21:00")
    sold(sku=catalogue["unicom"], buyer=both, paid_at=paid)
    sold(sku=catalogue["qq"], buyer=only_high, paid_at=paid, quantity=2)
    sold(sku=catalogue["qq"], buyer=outsider, paid_at=paid)
    sold(sku=catalogue["unicom"], buyer=only_high, paid_at=at("2026-11-21 00:30"))

    mix = segment_category_mix(since=DAY, until=DAY, with_cost=True)

    phone, games = catalogue["phone"].pk, catalogue["games"].pk
    assert [name for _key, name in mix.groups] == ["测试高价值", "测试沉睡"]
    assert mix.cells[high.pk, phone].gmv == Decimal("99.00")
    assert mix.cells[high.pk, games].units == 2
    assert mix.cells[high.pk, games].profit == Decimal("1.60")  # 19.60 − 18.00
    assert mix.cells[dormant.pk, phone].buyers == 1
    assert (dormant.pk, games) not in mix.cells
