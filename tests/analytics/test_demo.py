"""The demo shows its history at once: segments, bought-together pairs and the
sales rollups are computed when seed_demo runs, not after the first night."""

import pytest
from django.core.management import call_command

from analytics.models import SalesRollup
from marketing.models import Segment, SegmentMember
from orders.models import CoPurchase, Order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development(settings):
    settings.DEBUG = True  # seed_demo refuses to run otherwise


def test_the_demo_has_segment_members_pairs_and_rollups_right_after_seeding():
    call_command("seed_demo")
    assert Order.objects.filter(paid_at__isnull=False).exists()
    high_value = Segment.objects.get(builtin=Segment.Builtin.HIGH_VALUE)
    assert SegmentMember.objects.filter(segment=high_value).exists()
    assert CoPurchase.objects.exists()
    assert SalesRollup.objects.exists()
