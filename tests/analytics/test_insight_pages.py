"""The insight pages as staff see them: who may open them, cost only for those
who may see it, a chart with its data, a period that is checked."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.analytics.factories import sold
from tests.catalog.factories import make_category, make_product, make_sku
from tests.orders.factories import make_buyer
from users.models import MemberLevel

pytestmark = pytest.mark.django_db

PAGES = (
    "/admin/analytics/insights/levels/",
    "/admin/analytics/insights/hours/",
    "/admin/analytics/insights/growth/",
)
ALLOWED = ("superadmin", "operations", "marketing", "finance")


@pytest.fixture
def sales():
    gold = MemberLevel.objects.create(code="gold", name="黄金", rank=3)
    sku = make_sku(
        product=make_product(name="移动话费快充", category=make_category("话费充值")),
        price=Decimal("49.50"),
        cost_price=Decimal("48.00"),
    )
    buyer = make_buyer(member_level=gold)
    paid_at = timezone.localtime().replace(hour=20, minute=15) - timedelta(days=1)
    for _ in range(3):
        sold(sku=sku, buyer=buyer, paid_at=paid_at)
    return sku


@pytest.mark.parametrize("role", [*ALLOWED, "support"])
def test_insight_pages_open_to_the_roles_that_decide(client, role_user, sales, role):
    client.force_login(role_user(role))
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == (200 if role in ALLOWED else 403), url
    sidebar = client.get("/admin/").content.decode()
    assert ("分时需求" in sidebar) == (role in ALLOWED)


@pytest.mark.parametrize("role", ALLOWED)
def test_profit_is_shown_only_to_who_may_see_cost(client, role_user, sales, role):
    user = role_user(role)
    client.force_login(user)
    page = client.get(PAGES[0]).content.decode()
    sees_cost = user.has_perm("catalog.view_cost")
    assert sees_cost == (role != "marketing")  # the role table's choice
    assert ('data-testid="profit-header"' in page) == sees_cost
    assert ("¥4.50" in page) == sees_cost  # 3 × (49.50 − 48.00)
    assert "黄金" in page and "话费充值" in page and "¥148.50" in page
    assert 'data-testid="mix-segments"' in page  # segments beside the levels


def test_the_heat_map_carries_its_data_for_the_chart_script(client, role_user, sales):
    client.force_login(role_user("marketing"))
    response = client.get(PAGES[1])
    page = response.content.decode()
    assert "vendor/echarts/echarts.min.js" in page and "kameng/charts.js" in page
    assert 'data-chart="hours-chart"' in page
    assert "<script>" not in page.replace('<script type="application/json"', "")
    option = response.context["chart"].option
    assert option["yAxis"]["data"] == ["话费充值"]
    assert option["series"][0]["data"] == [[20, 0, 3]]
    assert json.loads(json.dumps(option)) == option  # plain data only
    assert "20:00" in page  # the peak hour in the table


def test_a_period_that_makes_no_sense_is_explained(client, role_user, sales):
    client.force_login(role_user("operations"))
    response = client.get(PAGES[2], {"since": "2026-11-20", "until": "2026-11-01"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "开始日期不能晚于结束日期。" in page
    assert "已改为显示最近 30 天。" in page
    response = client.get(PAGES[1], {"since": "不是日期", "measure": "cost"})
    assert response.status_code == 200
    assert 'data-testid="period-errors"' in response.content.decode()
