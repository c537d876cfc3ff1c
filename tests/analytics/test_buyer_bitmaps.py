"""Buyer bitmaps (analytics.BuyerBitmap): a period's unique buyers, visitors
and funnel steps read as an OR of day and block bitmaps equal a direct count
over orders and tracking events, over periods that cross block boundaries and
Asia/Shanghai midnights; the incremental refresh leaves the same bitmaps as a
full rebuild, a buyer who moves up a level included; the home page never
groups buyer days nor reads the hour × SKU rollup cells."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.bitmaps import ALL, SPANS, Kind, pack, pieces, read_maps, unpack
from analytics.dashboard import (
    GUEST,
    NO_LEVEL,
    Period,
    Scope,
    funnel,
    period_figures,
)
from analytics.models import BuyerBitmap, BuyerDay, SalesRollup
from analytics.rollups import rebuild_rollups, refresh_rollups
from orders.models import Order
from tests.analytics.factories import at, sold
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer
from users.models import LoginEvent, MemberLevel, ProductView

pytestmark = pytest.mark.django_db

# 45 days from a Sunday: blocks of every span, and both ends unaligned.
SPELL = Period(since=date(2026, 10, 4), until=date(2026, 11, 17))


def test_a_period_is_cut_into_aligned_blocks_that_cover_it_once():
    for since, length in [(date(2026, 10, 4), 45), (date(2026, 11, 1), 30)]:
        until = since + timedelta(days=length - 1)
        blocks = pieces(since, until)
        covered = [day + timedelta(n) for day, span in blocks for n in range(span)]
        assert covered == [since + timedelta(n) for n in range(length)]
        assert all(
            span in SPANS and day.toordinal() % span == 0 for day, span in blocks
        )
        assert len(blocks) <= 10  # not one per day
    assert pieces(date(2026, 11, 2), date(2026, 11, 1)) == []  # an empty period
    assert pieces(date(2026, 11, 2), date(2026, 11, 2)) == [(date(2026, 11, 2), 1)]


def test_a_bitmap_holds_user_ids_as_bits():
    bits = (1 << 3) | (1 << 1_000_000)
    assert unpack(pack(bits)) == bits
    assert unpack(pack(bits)).bit_count() == 2


@pytest.fixture
def spell():
    """Buyers spread over SPELL: on several days, at midnight in shop time,
    refunded, unpaid, a view weeks before the order, and activity just outside
    the period."""
    gold = MemberLevel.objects.create(code="gold", name="黄金", rank=3)
    sku = make_sku(price=Decimal("9.80"))
    vip, plain, browser, late, outside = (
        make_buyer(member_level=gold),
        make_buyer(),
        make_buyer(),
        make_buyer(),
        make_buyer(),
    )
    sold(sku=sku, buyer=vip, paid_at=at("2026-10-04 00:00"))  # first second
    sold(sku=sku, buyer=vip, paid_at=at("2026-11-09 12:00"))
    sold(sku=sku, buyer=plain, paid_at=at("2026-10-20 23:59"))
    sold(
        sku=sku,
        buyer=plain,
        paid_at=at("2026-11-17 23:59"),  # last minute
        refunded="9.80",
        status=Order.Status.REFUNDED,
    )
    # Viewed on the 5th, placed on the 30th and never paid.
    ProductView.objects.create(
        user=browser, product_id=sku.product_id, created_at=at("2026-10-05 09:00")
    )
    unpaid = sold(sku=sku, buyer=browser, paid_at=at("2026-10-30 10:00"))
    Order.objects.filter(pk=unpaid.pk).update(
        paid_at=None, status=Order.Status.PENDING_PAYMENT
    )
    # Viewed on the 6th, placed on the 16th, paid a minute past midnight.
    ProductView.objects.create(
        user=late, product_id=sku.product_id, created_at=at("2026-10-06 09:00")
    )
    paid = sold(sku=sku, buyer=late, paid_at=at("2026-11-17 00:01"))
    Order.objects.filter(pk=paid.pk).update(created_at=at("2026-11-16 23:59"))
    LoginEvent.objects.create(
        user=plain, success=True, area="shop", created_at=at("2026-11-01 08:00")
    )
    # One minute outside the period at either end.
    sold(sku=sku, buyer=outside, paid_at=at("2026-10-03 23:59"))
    sold(sku=sku, buyer=outside, paid_at=at("2026-11-18 00:00"))
    for order in Order.objects.filter(paid_at__isnull=False).exclude(buyer=late):
        Order.objects.filter(pk=order.pk).update(
            created_at=order.paid_at - timedelta(minutes=1)
        )
    Order.objects.filter(pk=unpaid.pk).update(created_at=at("2026-10-30 10:00"))
    ProductView.objects.create(
        user=outside, product_id=sku.product_id, created_at=at("2026-11-18 00:00")
    )
    rebuild_rollups(since=date(2026, 9, 1), until=date(2026, 11, 30))
    return {"gold": gold, "vip": vip, "plain": plain, "late": late}


def test_unique_buyers_and_the_funnel_equal_the_orders_and_events(spell):
    figures = period_figures(period=SPELL)
    assert figures == period_figures(period=SPELL, raw=True)
    assert figures.buyers == 3  # vip, plain, late: each once
    steps = funnel(SPELL)
    assert steps == funnel(SPELL, raw=True)
    # Seen: plain (login), browser and late (views); viewed: browser, late;
    # placed: both; paid: late.
    assert (steps.visitors, steps.viewers, steps.ordered, steps.paid) == (3, 2, 2, 1)
    for scope in (
        Scope(level=spell["gold"].pk),
        Scope(level=NO_LEVEL),
        Scope(level=GUEST),
        Scope(weekday=7),  # Sundays: the 4th (vip) only
        Scope(level=NO_LEVEL, weekday=2),  # Tuesdays: plain's refunded order, late
    ):
        assert period_figures(period=SPELL, scope=scope) == period_figures(
            period=SPELL, scope=scope, raw=True
        ), scope
    assert period_figures(period=SPELL, scope=Scope(weekday=7)).buyers == 1
    assert period_figures(period=SPELL, scope=Scope(level=NO_LEVEL)).buyers == 2
    # Every period inside the spell, each cut into different blocks.
    for since, until in [
        (date(2026, 10, 4), date(2026, 10, 4)),
        (date(2026, 10, 5), date(2026, 11, 16)),
        (date(2026, 10, 21), date(2026, 11, 17)),
        (date(2026, 11, 17), date(2026, 11, 18)),
    ]:
        period = Period(since=since, until=until)
        assert funnel(period) == funnel(period, raw=True), period
        assert period_figures(period=period) == period_figures(
            period=period, raw=True
        ), period


def test_a_block_is_the_or_of_its_days(spell):
    for block in BuyerBitmap.objects.filter(span__gt=1):
        days = [(block.day + timedelta(n), 1) for n in range(block.span)]
        expected = read_maps(days, kinds=[block.kind], key=block.key)
        assert unpack(block.bits) == expected[(block.kind, block.key)], block
    assert BuyerBitmap.objects.filter(span=32).exists()


def rebuilt_maps(since: date, until: date) -> dict:
    return {
        (row.day, row.span, row.kind, row.key): unpack(row.bits)
        for row in BuyerBitmap.objects.filter(day__gte=since, day__lte=until)
    }


def test_the_refresh_leaves_the_bitmaps_a_rebuild_would(db):
    gold = MemberLevel.objects.create(code="gold", name="黄金", rank=3)
    sku = make_sku(price=Decimal("9.80"))
    climber, other = make_buyer(), make_buyer()
    now = timezone.now()
    sold(sku=sku, buyer=climber, paid_at=now - timedelta(seconds=2))
    refresh_rollups()
    today = timezone.localdate()
    week = Period(since=today - timedelta(days=6), until=today)
    assert period_figures(period=week, scope=Scope(level=NO_LEVEL)).buyers == 1

    # The climber reaches gold and buys again; another buyer views and pays.
    climber.member_level = gold
    climber.save(update_fields=["member_level"])
    sold(sku=sku, buyer=climber, paid_at=now - timedelta(seconds=1))
    ProductView.objects.create(user=other, product_id=sku.product_id)
    sold(sku=sku, buyer=other, paid_at=now)
    refresh_rollups()
    refreshed = rebuilt_maps(today - timedelta(days=40), today)
    assert period_figures(period=week, scope=Scope(level=gold.pk)).buyers == 1
    assert period_figures(period=week, scope=Scope(level=NO_LEVEL)).buyers == 1
    assert period_figures(period=week) == period_figures(period=week, raw=True)
    assert funnel(week) == funnel(week, raw=True)

    rebuild_rollups(since=today - timedelta(days=2), until=today)
    assert refreshed == rebuilt_maps(today - timedelta(days=40), today)
    day = read_maps([(today, 1)])
    assert day[(Kind.BUYER, ALL)].bit_count() == 2
    assert (Kind.BUYER, f"level:{gold.pk}") in day


def test_the_home_page_reads_no_buyer_days(
    client, role_user, django_assert_max_num_queries
):
    sku = make_sku(price=Decimal("9.80"))
    yesterday = timezone.localtime().replace(hour=9, minute=0) - timedelta(days=1)
    for _ in range(3):
        buyer = make_buyer()
        sold(sku=sku, buyer=buyer, paid_at=yesterday)
        ProductView.objects.create(user=buyer, product_id=sku.product_id)
    rebuild_rollups(since=timezone.localdate() - timedelta(days=70))
    client.force_login(role_user("superadmin"))
    client.get("/admin/", {"period": "30d"})  # warm: sessions, permissions
    with django_assert_max_num_queries(40) as captured:
        response = client.get("/admin/", {"period": "30d"})
    assert response.status_code == 200
    assert 'data-testid="kpi-dashboard"' in response.content.decode()
    buyer_days = BuyerDay._meta.db_table
    assert [q["sql"] for q in captured.captured_queries if buyer_days in q["sql"]] == []
    bitmaps = BuyerBitmap._meta.db_table
    assert any(bitmaps in q["sql"] for q in captured.captured_queries)
    # The hour × SKU cells neither: daily sales by SKU, hourly by category.
    cells = f'"{SalesRollup._meta.db_table}"'
    assert [q["sql"] for q in captured.captured_queries if cells in q["sql"]] == []
