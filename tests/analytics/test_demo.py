"""The demo shows its history at once: segments, bought-together pairs, the
sales rollups and forecasts are computed when seed_demo runs, not after the
first night; the weekly and monthly reports are there, scheduled."""

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from analytics.models import DemandForecast, ReportTemplate, SalesRollup
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
    assert DemandForecast.objects.exists()  # the inventory monitor's forecasts
    # a manager starts with the weekly and monthly reports, scheduled
    assert set(ReportTemplate.objects.values_list("kind", flat=True)) == {
        "weekly_sales",
        "monthly_users",
    }
    assert (
        PeriodicTask.objects.filter(task="analytics.run_scheduled_report").count() == 2
    )
