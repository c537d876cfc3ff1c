"""The segment editor: an operator sees a segment's size and members before
saving it; saving counts its members at once."""

import pytest
from django.urls import reverse

from marketing.models import Segment, SegmentMember
from marketing.services import refresh_segments
from tests.marketing.factories import buyer_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def spenders():
    return [
        buyer_with(spent=f"{amount}.00", orders=1, last_order_days_ago=1)
        for amount in (50, 500, 800, 3000, 5000)
    ]


def test_preview_shows_size_and_members_and_saves_nothing(client, role_user, spenders):
    client.force_login(role_user("marketing"))
    response = client.post(
        reverse("marketing:segment_new"),
        {"name": "", "min_spent": "400", "max_spent": "1000", "_preview": "1"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "2 位买家符合条件" in page
    assert spenders[1].username in page and spenders[2].username in page
    assert spenders[0].username not in page and spenders[4].username not in page
    assert not Segment.objects.filter(builtin="").exists()


def test_preview_names_a_bad_range(client, role_user, spenders):
    client.force_login(role_user("marketing"))
    response = client.post(
        reverse("marketing:segment_new"),
        {"min_spent": "900", "max_spent": "100", "_preview": "1"},
    )
    assert "不能低于" in response.content.decode()
    assert "符合条件" not in response.content.decode()


def test_save_creates_the_segment_with_its_members(client, role_user, spenders):
    client.force_login(role_user("marketing"))
    response = client.post(
        reverse("marketing:segment_new"),
        {"name": "中等消费", "min_spent": "400", "max_spent": "1000", "_save": "1"},
    )
    assert response.status_code == 302
    segment = Segment.objects.get(name="中等消费")
    assert segment.member_count == 2
    assert set(
        SegmentMember.objects.filter(segment=segment).values_list("user_id", flat=True)
    ) == {spenders[1].pk, spenders[2].pk}
    edit = client.post(
        reverse("marketing:segment_edit", args=[segment.pk]),
        {"name": "中等消费", "min_spent": "4000", "_save": "1"},
    )
    assert edit.status_code == 302
    segment.refresh_from_db()
    assert segment.member_count == 1


def test_buyer_list_filters_by_segment(client, role_user, spenders):
    client.force_login(role_user("marketing"))
    client.post(
        reverse("marketing:segment_new"),
        {"name": "大客户", "min_spent": "1000", "_save": "1"},
    )
    segment = Segment.objects.get(name="大客户")
    page = client.get(
        reverse("admin:users_buyer_changelist"), {"segment": segment.pk}
    ).content.decode()
    assert spenders[3].username in page and spenders[4].username in page
    assert spenders[0].username not in page


def test_profile_shows_segments_and_rfm(client, role_user, spenders):
    refresh_segments()
    client.force_login(role_user("support"))
    page = client.get(
        reverse("customers:buyer_profile", args=[spenders[4].pk])
    ).content.decode()
    assert "高价值买家" in page
    assert "消费金额 5（满分 5" in page
