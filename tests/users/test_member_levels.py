"""Member levels: growth from paid spend, taken back by refunds, upgrades at
once, downgrades only after the grace period, every change a row with a reason."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kameng import events
from orders.checkout import buy_with_wallet
from orders.models import Order
from orders.refunds import refund_to_wallet
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer, stock_codes
from users.levels import BuyerFigures, grow, recompute_buyer_stats, review_levels
from users.models import BuyerStats, LevelChange, MemberLevel, User
from users.tasks import review_member_levels

pytestmark = pytest.mark.django_db
R = LevelChange.Reason


@pytest.fixture
def levels():
    return {
        code: MemberLevel.objects.create(
            code=code, name=name, rank=rank, growth_threshold=Decimal(threshold)
        )
        for code, name, rank, threshold in [
            ("bronze", "青铜", 0, "0.00"),
            ("silver", "白银", 10, "300.00"),
            ("gold", "黄金", 20, "800.00"),
        ]
    }


def paid(buyer, amount, method="wallet"):
    events.order_paid.send(
        sender=Order,
        order_id=0,
        buyer_id=buyer.pk,
        amount=Decimal(amount),
        payment_method=method,
    )


def refunded(buyer, amount):
    events.order_refunded.send(
        sender=Order, order_id=0, amount=Decimal(amount), buyer_id=buyer.pk
    )


def history(buyer):
    return [
        (c.from_level and c.from_level.code, c.to_level.code, c.reason)
        for c in LevelChange.objects.filter(user=buyer).order_by("id")
    ]


def test_a_payment_adds_growth_and_upgrades_at_once(levels):
    buyer = make_buyer()
    paid(buyer, "120.00")
    paid(buyer, "200.00", method="gateway")
    buyer.refresh_from_db()
    stats = BuyerStats.objects.get(user=buyer)
    assert stats.growth == Decimal("320.00")
    assert stats.total_spent == Decimal("320.00")
    assert (stats.order_count, stats.wallet_payments, stats.gateway_payments) == (
        2,
        1,
        1,
    )
    assert stats.last_order_at is not None
    assert buyer.member_level == levels["silver"]
    assert history(buyer) == [
        (None, "bronze", R.PAYMENT),
        ("bronze", "silver", R.PAYMENT),
    ]


def test_a_wallet_purchase_grows_the_buyer_through_the_signal(
    levels, django_capture_on_commit_callbacks
):
    sku = make_sku(price=Decimal("350.00"))
    stock_codes(sku, 1)
    buyer = make_buyer(Decimal("400.00"))
    with django_capture_on_commit_callbacks(execute=True):
        order = buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    buyer.refresh_from_db()
    assert buyer.member_level == levels["silver"]
    assert BuyerStats.objects.get(user=buyer).wallet_payments == 1

    with django_capture_on_commit_callbacks(execute=True):
        refund_to_wallet(order=order, amount=Decimal("100.00"), reason="部分退款")
    stats = BuyerStats.objects.get(user=buyer)
    assert stats.growth == Decimal("250.00")
    assert stats.total_spent == Decimal("250.00")


def test_a_guest_order_grows_nobody(levels):
    events.order_paid.send(
        sender=Order, order_id=0, buyer_id=None, amount=Decimal("50.00")
    )
    assert not BuyerStats.objects.exists()
    assert not LevelChange.objects.exists()


def test_a_refund_takes_growth_back_but_keeps_the_level_until_the_review(levels):
    buyer = make_buyer()
    paid(buyer, "900.00")
    refunded(buyer, "700.00")
    buyer.refresh_from_db()
    assert BuyerStats.objects.get(user=buyer).growth == Decimal("200.00")
    assert buyer.member_level == levels["gold"]


def test_growth_never_goes_below_zero(levels):
    buyer = make_buyer()
    paid(buyer, "10.00")
    refunded(buyer, "50.00")
    grow(user=buyer, amount=Decimal("-5.00"))
    stats = BuyerStats.objects.get(user=buyer)
    assert (stats.growth, stats.total_spent) == (Decimal("0.00"), Decimal("0.00"))


def test_grow_refuses_floats(levels):
    buyer = make_buyer()
    with pytest.raises(TypeError):
        grow(user=buyer, amount=12.5)
    with pytest.raises(TypeError):
        grow(user=buyer, amount=Decimal("NaN"))
    assert not BuyerStats.objects.filter(user=buyer).exists()


def test_another_source_of_growth_upgrades_at_once(levels):
    buyer = make_buyer()
    grow(user=buyer, amount=Decimal("300.00"))
    buyer.refresh_from_db()
    assert buyer.member_level == levels["silver"]


def test_the_daily_review_downgrades_only_after_the_grace_period(levels, settings):
    settings.MEMBER_LEVEL_GRACE_DAYS = 30
    buyer = make_buyer()
    paid(buyer, "900.00")
    refunded(buyer, "500.00")  # 400 left: silver
    start = timezone.now()

    assert review_levels(now=start)["grace_started"] == 1
    assert review_levels(now=start + timedelta(days=29))["downgraded"] == 0
    buyer.refresh_from_db()
    assert buyer.member_level == levels["gold"]

    assert review_levels(now=start + timedelta(days=30))["downgraded"] == 1
    buyer.refresh_from_db()
    assert buyer.member_level == levels["silver"]
    assert history(buyer)[-1] == ("gold", "silver", R.GRACE_ENDED)
    assert BuyerStats.objects.get(user=buyer).below_level_since is None


def test_growth_back_within_the_grace_period_keeps_the_level(levels):
    buyer = make_buyer()
    paid(buyer, "900.00")
    refunded(buyer, "700.00")
    start = timezone.now()
    review_levels(now=start, grace_days=30)
    paid(buyer, "650.00")  # back to 850: gold again
    review_levels(now=start + timedelta(days=1), grace_days=30)
    counts = review_levels(now=start + timedelta(days=31), grace_days=30)
    buyer.refresh_from_db()
    assert counts == {"upgraded": 0, "downgraded": 0, "grace_started": 0}
    assert buyer.member_level == levels["gold"]
    assert BuyerStats.objects.get(user=buyer).below_level_since is None


def test_the_daily_review_upgrades_when_a_threshold_is_lowered(levels):
    buyer = make_buyer()
    paid(buyer, "500.00")  # silver
    MemberLevel.objects.filter(code="gold").update(growth_threshold=Decimal("400.00"))
    assert review_member_levels.delay().get() == {
        "upgraded": 1,
        "downgraded": 0,
        "grace_started": 0,
    }
    buyer.refresh_from_db()
    assert buyer.member_level == levels["gold"]
    assert history(buyer)[-1] == ("silver", "gold", R.DAILY)


def test_the_daily_review_gives_new_buyers_the_entry_level_and_skips_staff(levels):
    buyer = make_buyer()
    staff = User.objects.create_user(username="clerk", is_staff=True)
    review_levels()
    buyer.refresh_from_db()
    staff.refresh_from_db()
    assert buyer.member_level == levels["bronze"]
    assert staff.member_level is None
    assert review_levels() == {"upgraded": 0, "downgraded": 0, "grace_started": 0}


def test_recomputing_from_history_is_idempotent(levels):
    buyer = make_buyer()
    figures = {
        buyer.pk: BuyerFigures(
            total_spent=Decimal("850.00"),
            order_count=4,
            last_order_at=timezone.now(),
            wallet_payments=3,
            gateway_payments=1,
        )
    }
    assert recompute_buyer_stats(figures=figures) == 1
    assert recompute_buyer_stats(figures=figures) == 0
    buyer.refresh_from_db()
    assert buyer.member_level == levels["gold"]
    assert history(buyer) == [(None, "gold", R.RECOMPUTED)]
    assert BuyerStats.objects.get(user=buyer).order_count == 4


def test_the_shop_shows_the_buyers_level_badge(client, levels):
    MemberLevel.objects.filter(code="silver").update(
        badge_text="白银会员", badge_colour="#9ca3af"
    )
    buyer = make_buyer()
    client.force_login(buyer)
    assert "白银会员" not in client.get("/shop/").content.decode()
    paid(buyer, "300.00")
    page = client.get("/shop/").content.decode()
    assert "白银会员" in page and 'fill="#9ca3af"' in page


def test_the_badge_costs_no_query_and_follows_an_edit(
    client, levels, django_capture_on_commit_callbacks
):
    """The header reads the level from the process's copy of the levels, read
    again after a level is saved (the back office saves through the model)."""
    silver = levels["silver"]
    silver.badge_text = "白银会员"
    with django_capture_on_commit_callbacks(execute=True):  # as the admin commits
        silver.save()
    plain, member = make_buyer(), make_buyer()
    User.objects.filter(pk=member.pk).update(member_level=silver)
    counts = []
    for buyer in (plain, member):
        client.force_login(buyer)
        client.get("/shop/orders/")  # warm: levels, module switches
        with CaptureQueriesContext(connection) as captured:
            page = client.get("/shop/orders/").content.decode()
        counts.append(len(captured))
    assert "白银会员" in page
    assert counts[0] == counts[1]  # the leveled buyer's badge: no query of its own
    silver.badge_text = "银卡会员"
    with django_capture_on_commit_callbacks(execute=True):
        silver.save()
    assert "银卡会员" in client.get("/shop/wallet/").content.decode()


def test_a_badge_colour_must_be_a_hex_colour(levels):
    level = levels["gold"]
    level.badge_colour = "red;background:url(x)"
    with pytest.raises(ValidationError):
        level.full_clean()
