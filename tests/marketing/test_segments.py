"""Built-in segments on hand-made buyers, and an operator's own segment."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from marketing.models import Segment, SegmentMember
from marketing.segments import SegmentFilters, filtered_buyers
from marketing.services import refresh_segments, score_rfm
from tests.catalog.factories import make_category
from tests.marketing.factories import bought_in, buyer_with
from users.models import Favourite, MemberLevel, ProductView

pytestmark = pytest.mark.django_db
B = Segment.Builtin


def members(code):
    segment = Segment.objects.get(builtin=code)
    return set(
        SegmentMember.objects.filter(segment=segment).values_list("user_id", flat=True)
    )


@pytest.fixture
def shop():
    now = timezone.now()
    b = {
        "small": buyer_with(spent="100.00", orders=5, last_order_days_ago=1),
        "steady": buyer_with(spent="200.00", orders=4, last_order_days_ago=2),
        "middle": buyer_with(spent="300.00", orders=3, last_order_days_ago=3),
        "lapsing": buyer_with(spent="400.00", orders=2, last_order_days_ago=40),
        "whale": buyer_with(spent="5000.00", orders=1, last_order_days_ago=50),
        "browser": buyer_with(),
        "old_browser": buyer_with(),
        "hearter": buyer_with(),
        "newcomer": buyer_with(joined_days_ago=3),
        "staff": buyer_with(is_staff=True, joined_days_ago=1),
    }
    ProductView.objects.create(
        user=b["browser"], product_id=7, created_at=now - timedelta(days=5)
    )
    ProductView.objects.create(
        user=b["old_browser"], product_id=7, created_at=now - timedelta(days=20)
    )
    ProductView.objects.create(user=b["small"], product_id=7, created_at=now)
    Favourite.objects.create(user=b["hearter"], product_id=8)
    return b


def ids(shop, *names):
    return {shop[name].pk for name in names}


def test_each_builtin_segment_holds_exactly_its_buyers(shop):
    refresh_segments()
    assert members(B.HIGH_VALUE) == ids(shop, "whale")
    assert members(B.LOW_FREQUENCY) == ids(shop, "whale", "lapsing")
    assert members(B.WOULD_BE) == ids(shop, "browser", "hearter")
    assert members(B.DORMANT) == ids(shop, "lapsing", "whale")
    assert members(B.NEW) == ids(shop, "newcomer")
    dormant = Segment.objects.get(builtin=B.DORMANT)
    assert dormant.member_count == 2 and dormant.computed_at is not None


def test_a_refresh_drops_who_left_a_segment(shop):
    refresh_segments()
    shop["newcomer"].is_active = False
    shop["newcomer"].save()
    refresh_segments()
    assert members(B.NEW) == set()


def test_custom_filters_combine(shop):
    gold = MemberLevel.objects.create(code="gold", name="黄金", growth_threshold=0)
    games = make_category("游戏点卡")
    for name in ("lapsing", "whale", "small"):
        bought_in(shop[name], games)
    shop["whale"].member_level = gold
    shop["whale"].save()
    score_rfm()

    def found(**filters):
        return set(
            filtered_buyers(SegmentFilters(**filters)).values_list("pk", flat=True)
        )

    assert found(category_ids=(games.pk,)) == ids(shop, "lapsing", "whale", "small")
    assert found(category_ids=(games.pk,), not_ordered_for_days=30) == ids(
        shop, "lapsing", "whale"
    )
    assert found(level_ids=(gold.pk,)) == ids(shop, "whale")
    assert found(min_spent=Decimal("150"), max_spent=Decimal("450")) == ids(
        shop, "steady", "middle", "lapsing"
    )
    assert found(ordered_within_days=10, monetary_min=2) == ids(
        shop, "steady", "middle"
    )
    assert found(recency_min=5, recency_max=5) == ids(shop, "small")
    assert found(registered_from=date.today() - timedelta(days=10)) == ids(
        shop, "newcomer"
    )
