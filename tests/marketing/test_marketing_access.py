"""Who sees and works segments and strategies."""

import pytest
from django.urls import reverse

from marketing.models import Segment, Strategy, StrategyRun
from tests.marketing.factories import buyer_with

pytestmark = pytest.mark.django_db

PAGES = [
    "admin:marketing_segment_changelist",
    "admin:marketing_strategy_changelist",
    "admin:marketing_strategyrun_changelist",
    "marketing:segment_new",
]


@pytest.mark.parametrize(
    "role, allowed",
    [
        ("superadmin", True),
        ("marketing", True),
        ("operations", True),
        ("support", False),
        ("finance", False),
    ],
)
def test_segment_pages_per_role(client, role_user, role, allowed):
    client.force_login(role_user(role))
    for name in PAGES:
        status = client.get(reverse(name)).status_code
        assert (status == 200) is allowed, (name, status)


def test_operations_may_look_but_not_save(client, role_user):
    buyer_with(spent="900.00", orders=1, last_order_days_ago=1)
    client.force_login(role_user("operations"))
    page = client.get(reverse("marketing:segment_new")).content.decode()
    assert "保存分群" not in page
    client.post(reverse("marketing:segment_new"), {"name": "偷偷保存", "_save": "1"})
    assert not Segment.objects.filter(name="偷偷保存").exists()


@pytest.mark.parametrize("role, may_run", [("marketing", True), ("operations", False)])
def test_run_now_only_for_marketing(client, role_user, role, may_run):
    strategy = Strategy.objects.create(
        name="新客优先",
        segment=Segment.objects.get(builtin=Segment.Builtin.NEW),
        action=Strategy.Action.PRIORITY_SUPPORT,
    )
    client.force_login(role_user(role))
    client.post(
        reverse("admin:marketing_strategy_changelist"),
        {"action": "run_now", "_selected_action": [strategy.pk]},
    )
    assert StrategyRun.objects.filter(strategy=strategy).exists() is may_run


def test_builtin_segments_cannot_be_deleted_in_bulk(client, role_user):
    client.force_login(role_user("marketing"))
    builtin = list(Segment.objects.values_list("pk", flat=True))
    client.post(
        reverse("admin:marketing_segment_changelist"),
        {"action": "delete_selected", "_selected_action": builtin, "post": "yes"},
    )
    assert Segment.objects.count() == len(builtin)


def test_a_builtin_segment_delete_page_says_it_cannot_go(client, role_user):
    client.force_login(role_user("marketing"))
    segment = Segment.objects.get(builtin=Segment.Builtin.NEW)
    url = reverse("admin:marketing_segment_delete", args=[segment.pk])
    assert "内置分群" in client.get(url).content.decode()
    client.post(url, {"post": "yes"})
    assert Segment.objects.filter(pk=segment.pk).exists()


def test_operations_cannot_open_the_add_page(client, role_user):
    client.force_login(role_user("operations"))
    assert client.get(reverse("admin:marketing_segment_add")).status_code == 403
