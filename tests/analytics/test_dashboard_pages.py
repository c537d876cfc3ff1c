"""The dashboard on the back-office home, the comparison and the retention page
as staff see them: who sees what (profit only with view_cost, support its own
figures), drill-down filters carried in the URL, periods that are checked, and
the read-replica router."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from analytics import dashboard_views
from analytics.rollups import rebuild_rollups
from kameng import replica
from kameng.replica import ReplicaRouter, reading_replica
from tests.analytics.factories import sold
from tests.catalog.factories import make_category, make_product, make_sku
from tests.orders.factories import make_buyer
from users.models import BuyerStats, MemberLevel

pytestmark = pytest.mark.django_db

DECIDERS = ("superadmin", "operations", "marketing", "finance")


@pytest.fixture
def sales():
    gold = MemberLevel.objects.create(code="gold", name="黄金", rank=3)
    phone = make_category("话费充值")
    sku = make_sku(
        product=make_product(name="移动话费快充", category=phone),
        price=Decimal("49.50"),
        cost_price=Decimal("48.00"),
    )
    buyer = make_buyer(member_level=gold)
    paid_at = timezone.localtime().replace(hour=20, minute=15) - timedelta(days=1)
    for _ in range(3):
        sold(sku=sku, buyer=buyer, paid_at=paid_at)
    rebuild_rollups(since=timezone.localdate() - timedelta(days=40))
    return {"phone": phone, "sku": sku, "gold": gold}


@pytest.mark.parametrize("role", DECIDERS)
def test_deciders_see_the_dashboard_and_profit_only_with_cost(
    client, role_user, sales, role
):
    user = role_user(role)
    client.force_login(user)
    page = client.get("/admin/").content.decode()
    assert 'data-testid="kpi-dashboard"' in page
    assert 'data-testid="value-gmv"' in page and "¥148.50" in page
    assert 'data-chart="dashboard-trend"' in page and "echarts.min.js" in page
    sees_cost = user.has_perm("catalog.view_cost")
    assert sees_cost == (role != "marketing")
    assert ('data-testid="kpi-gross_profit"' in page) == sees_cost
    assert ("¥4.50" in page) == sees_cost  # 3 × (49.50 − 48.00)
    assert "<script>" not in page.replace('<script type="application/json"', "")


def test_support_sees_the_figures_of_its_own_work_only(client, role_user, sales):
    client.force_login(role_user("support"))
    page = client.get("/admin/").content.decode()
    assert 'data-testid="kpi-open_tickets"' in page
    assert 'data-testid="kpi-tickets_opened"' in page
    assert 'data-testid="kpi-supplier_success_rate"' in page
    assert 'data-testid="kpi-gmv"' not in page
    assert "data-chart=" not in page and "¥148.50" not in page


def test_a_click_drills_down_and_the_url_keeps_the_filters(client, role_user, sales):
    client.force_login(role_user("operations"))
    response = client.get("/admin/", {"period": "7d"})
    mix = response.context["dashboard"]["charts"]["mix"].option["series"][0]["data"]
    assert [item["name"] for item in mix] == ["话费充值"]
    query = parse_qs(urlsplit(mix[0]["href"]).query)
    assert query == {"period": ["7d"], "category": [str(sales["phone"].pk)]}

    response = client.get("/admin/" + mix[0]["href"])
    page = response.content.decode()
    assert 'data-testid="chip-category"' in page and "话费充值" in page
    assert str(response.context["dashboard"]["mix_title"]) == "按商品查看 GMV"
    product_href = response.context["dashboard"]["charts"]["mix"].option["series"][0][
        "data"
    ][0]["href"]
    query = parse_qs(urlsplit(product_href).query)
    assert query["category"] == [str(sales["phone"].pk)]
    assert query["product"] == [str(sales["sku"].product_id)]
    # Period buttons keep the drill-down; removing the category forgets the product.
    links = {
        link["name"]: link["url"]
        for link in response.context["dashboard"]["period_links"]
    }
    assert f"category={sales['phone'].pk}" in links["30d"]
    response = client.get("/admin/" + product_href)
    chips = {chip["field"]: chip for chip in response.context["dashboard"]["chips"]}
    assert set(chips) == {"category", "product"}
    assert "product" not in chips["category"]["remove"]
    assert "category" not in chips["category"]["remove"]
    assert response.context["dashboard"]["metrics"][0].value == Decimal("148.50")

    levels = response.context["dashboard"]["charts"]["levels"].option["series"][0]
    assert f"level={sales['gold'].pk}" in levels["data"][0]["href"]
    heat = response.context["dashboard"]["charts"]["heat"].option["series"][0]["data"]
    assert "weekday=" in heat[0]["href"] and "hour=20" in heat[0]["href"]


def test_wrong_filters_and_periods_are_explained(client, role_user, sales):
    client.force_login(role_user("finance"))
    page = client.get("/admin/", {"hour": "99", "period": "custom"}).content.decode()
    assert 'data-testid="dashboard-errors"' in page
    page = client.get(
        "/admin/", {"period": "custom", "since": "2026-11-20", "until": "2026-11-01"}
    ).content.decode()
    assert (
        "开始日期不能晚于结束日期" in page or 'data-testid="dashboard-errors"' in page
    )


def test_two_periods_side_by_side(client, role_user, sales):
    client.force_login(role_user("marketing"))
    yesterday = timezone.localdate() - timedelta(days=1)
    response = client.get(
        "/admin/analytics/compare/",
        {
            "a_since": yesterday.isoformat(),
            "a_until": yesterday.isoformat(),
            "b_since": (yesterday - timedelta(days=7)).isoformat(),
            "b_until": (yesterday - timedelta(days=7)).isoformat(),
            "category": sales["phone"].pk,
        },
    )
    assert response.status_code == 200
    metrics = {m.code: m for m in response.context["metrics"]}
    assert metrics["gmv"].value == Decimal("148.50")
    assert metrics["gmv"].difference == Decimal("148.50")
    assert "gross_profit" not in metrics  # marketing sees no cost
    page = response.content.decode()
    assert 'data-testid="difference-gmv"' in page and "+¥148.50" in page
    assert 'data-chart="compare-chart"' in page


def test_retention_page_lists_cohorts_and_the_funnel(client, role_user, sales):
    client.force_login(role_user("operations"))
    response = client.get("/admin/analytics/retention/")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('data-testid="cohort-row"') == 8
    assert 'data-chart="retention-funnel"' in page


def test_dashboard_reads_go_through_the_replica_router(client, role_user, sales):
    seen = []
    real = dashboard_views.period_figures

    def spy(**kwargs):
        seen.append(replica.reading.get())
        return real(**kwargs)

    client.force_login(role_user("operations"))
    original = dashboard_views.period_figures
    dashboard_views.period_figures = spy
    try:
        client.get("/admin/")
    finally:
        dashboard_views.period_figures = original
    assert seen and all(seen)
    assert replica.reading.get() is False


def test_the_router_sends_marked_reads_to_a_configured_replica(monkeypatch):
    router = ReplicaRouter()
    assert router.db_for_read(None) is None
    with reading_replica():
        assert router.db_for_read(None) is None  # no replica configured
        monkeypatch.setattr(replica, "replica_configured", lambda: True)
        assert router.db_for_read(None) == "replica"
        assert router.db_for_write(None) is None
    assert router.db_for_read(None) is None
    assert router.allow_migrate("replica", "orders") is False
    assert router.allow_migrate("default", "orders") is True


def test_the_home_counts_active_buyers_and_names_sku_counts_as_skus(
    client, role_user, sales
):
    recent, lapsed = make_buyer(), make_buyer()
    BuyerStats.objects.create(user=recent, last_order_at=timezone.now())
    BuyerStats.objects.create(
        user=lapsed, last_order_at=timezone.now() - timedelta(days=31)
    )
    operations = role_user("operations")
    # A buyer who became staff is neither a buyer nor an active one.
    BuyerStats.objects.create(user=operations, last_order_at=timezone.now())
    client.force_login(operations)
    figures = home_figures(client)
    assert figures["买家"] == 3  # the fixture's buyer and these two
    assert figures["活跃买家（近 30 天付款）"] == 1
    assert "卡密 SKU 数" in figures and "卡密" not in figures
    assert figures["库存卡密"] == 0


def home_figures(client) -> dict:
    response = client.get("/admin/")
    return {
        str(figure["label"]): figure["value"]
        for section in response.context["kameng_sections"]
        for figure in section["figures"]
    }


def test_the_home_buyer_figures_are_counted_once_a_minute_for_everyone(
    client, role_user, sales
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from users import selectors

    client.force_login(role_user("operations"))
    assert home_figures(client)["买家"] == 1
    make_buyer()
    client.force_login(role_user("marketing"))
    with CaptureQueriesContext(connection) as seen:
        assert home_figures(client)["买家"] == 1  # the count of a moment ago
    assert not [q for q in seen.captured_queries if "users_buyerstats" in q["sql"]]
    selectors.forget_buyer_figures()  # as the cache does a minute later
    assert home_figures(client)["买家"] == 2
