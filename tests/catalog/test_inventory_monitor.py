"""The inventory monitor page: who sees it, what it shows, sorting, filtering,
pagination and a query count that does not grow with the rows shown."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Sku, SkuSalesDay, Supplier
from catalog.services.inventory import check_stock_alerts
from tests.catalog.factories import make_category, make_product, make_sku
from tests.catalog.test_inventory_health import calls, make_offer, record_calls

URL = "/admin/catalog/inventory/"
ROWS_URL = "/admin/catalog/inventory/rows/"


def states(body):
    return dict(re.findall(r'data-sku="([^"]+)" data-state="([^"]+)"', body))


def codes(body):
    return re.findall(r'data-sku="([^"]+)"', body)


def sell(sku, **days_ago_quantity):
    today = timezone.localdate()
    for key, quantity in days_ago_quantity.items():
        SkuSalesDay.objects.create(
            sku=sku, day=today - timedelta(days=int(key[1:])), quantity=quantity
        )


@pytest.fixture
def catalog(db, settings):
    """One SKU in every state."""
    settings.SUPPLIER_HEALTH_MIN_CALLS = 5
    category = make_category("点卡")
    product = make_product("测试商品", category=category)
    skus = {
        "ok": make_sku("A-OK", product=product, stock=500, low_stock_threshold=10),
        "low": make_sku("B-LOW", product=product, stock=4, low_stock_threshold=10),
        "out": make_sku("C-OUT", product=product, stock=0),
        "paused": make_sku("D-PAUSED", product=product, stock=80, is_active=False),
        "topup": make_sku(
            "E-TOPUP", product=product, delivery_type=Sku.DeliveryType.TOPUP
        ),
        "degraded": make_sku(
            "F-DEGRADED", product=product, delivery_type=Sku.DeliveryType.TOPUP
        ),
    }
    good = make_offer(sku=skus["topup"])
    record_calls(good, calls(9, 1, latency=120))
    bad = make_offer(sku=skus["degraded"])
    record_calls(bad, calls(1, 9, latency=900))
    sell(skus["ok"], d0=10, d1=20, d3=40)
    sell(skus["low"], d0=1, d8=99)  # day 8 is outside the 7 days
    return skus


@pytest.mark.parametrize("role", ["operations", "support", "superadmin", "finance"])
def test_monitor_opens_for_staff_with_view_sku_without_cost(
    client, role_user, catalog, role
):
    client.force_login(role_user(role))
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "A-OK" in body
    table = body.split('data-testid="inventory-table"')[1].split("</table>")[0]
    assert "9.00" not in table and "¥" not in table  # cost (or price) never shown
    assert 'hx-trigger="every 30s"' in body
    assert f'hx-get="{ROWS_URL}' in body


def test_monitor_is_forbidden_without_view_sku(client, db):
    from users.models import User

    user = User.objects.create_user("clerk", password="x-test-password", is_staff=True)
    client.force_login(user)
    assert client.get(URL).status_code == 403
    assert client.get(ROWS_URL).status_code == 403


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_sidebar_links_the_monitor(client, role_user, catalog):
    client.force_login(role_user("support"))
    assert URL in client.get("/admin/").content.decode()


def test_states_are_computed(client, role_user, catalog):
    client.force_login(role_user("operations"))
    assert states(client.get(URL).content.decode()) == {
        "A-OK": "ok",
        "B-LOW": "low",
        "C-OUT": "out",
        "D-PAUSED": "paused",
        "E-TOPUP": "ok",
        "F-DEGRADED": "degraded",
    }


def test_sales_cover_and_supplier_figures(client, role_user, catalog):
    client.force_login(role_user("operations"))
    body = client.get(ROWS_URL + "?q=A-OK").content.decode()
    # 70 units in 7 days, 10/day, 500 in stock → 50.0 days
    assert re.search(r'data-column="sold_7d">70<', body)
    assert re.search(r'data-column="cover">50.0<', body)
    body = client.get(ROWS_URL + "?q=E-TOPUP").content.decode()
    assert "90.0%" in body and "120 / 120 ms" in body
    assert re.search(r'data-column="stock">\s*\S', body)
    body = client.get(ROWS_URL + "?q=B-LOW").content.decode()
    assert re.search(r'data-column="sold_7d">1<', body)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("code", ["A-OK", "B-LOW", "C-OUT", "D-PAUSED", "E-TOPUP", "F-DEGRADED"]),
        ("-code", ["F-DEGRADED", "E-TOPUP", "D-PAUSED", "C-OUT", "B-LOW", "A-OK"]),
        ("sold_7d", ["C-OUT", "D-PAUSED", "E-TOPUP", "F-DEGRADED", "B-LOW", "A-OK"]),
        ("state", ["C-OUT", "F-DEGRADED", "B-LOW", "D-PAUSED", "A-OK", "E-TOPUP"]),
        ("success", ["F-DEGRADED", "E-TOPUP", "A-OK", "B-LOW", "C-OUT", "D-PAUSED"]),
        ("-latency", ["F-DEGRADED", "E-TOPUP", "A-OK", "B-LOW", "C-OUT", "D-PAUSED"]),
        ("stock", ["C-OUT", "B-LOW", "D-PAUSED", "A-OK", "E-TOPUP", "F-DEGRADED"]),
    ],
)
def test_sorting_by_column(client, role_user, catalog, sort, expected):
    client.force_login(role_user("operations"))
    assert codes(client.get(ROWS_URL, {"sort": sort}).content.decode()) == expected


def test_sorting_by_cover_puts_infinite_last(client, role_user, catalog):
    client.force_login(role_user("operations"))
    order = codes(client.get(ROWS_URL, {"sort": "cover"}).content.decode())
    # no stock: 0 days; 4 / (1/7) = 28 days; 500 / 10 = 50 days; then ∞
    assert order[:3] == ["C-OUT", "B-LOW", "A-OK"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "low"}, ["B-LOW"]),
        ({"state": "out"}, ["C-OUT"]),
        ({"state": "degraded"}, ["F-DEGRADED"]),
        ({"state": "paused"}, ["D-PAUSED"]),
        ({"state": "ok"}, ["A-OK", "E-TOPUP"]),
        ({"delivery": "topup"}, ["E-TOPUP", "F-DEGRADED"]),
        ({"q": "paused"}, ["D-PAUSED"]),
        ({"q": "测试商品", "state": "out"}, ["C-OUT"]),
    ],
)
def test_filtering(client, role_user, catalog, params, expected):
    client.force_login(role_user("operations"))
    assert codes(client.get(ROWS_URL, params).content.decode()) == expected


def test_category_filter_includes_subcategories(client, role_user, catalog):
    parent = catalog["ok"].product.category
    child = make_category("子分类", parent=parent)
    make_sku("Z-CHILD", product=make_product(category=child), stock=50)
    make_sku("Y-ELSEWHERE", stock=50)
    client.force_login(role_user("operations"))
    body = client.get(ROWS_URL, {"category": parent.pk}).content.decode()
    assert "Z-CHILD" in codes(body) and "Y-ELSEWHERE" not in codes(body)
    body = client.get(ROWS_URL, {"category": child.pk}).content.decode()
    assert codes(body) == ["Z-CHILD"]


def test_bad_filters_are_reported_and_ignored(client, role_user, catalog):
    client.force_login(role_user("operations"))
    response = client.get(URL, {"state": "nonsense", "page": "-3", "sort": "cost"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="filter-errors"' in body
    assert len(codes(body)) == 6
    assert client.get(ROWS_URL, {"category": "abc"}).status_code == 400


def test_pages_without_counting(client, role_user, db):
    product = make_product()
    for n in range(120):
        make_sku(f"P-{n:03d}", product=product, stock=100)
    client.force_login(role_user("operations"))
    first = client.get(ROWS_URL, {"size": 50}).content.decode()
    assert codes(first)[0] == "P-000" and len(codes(first)) == 50
    assert 'data-testid="next-page"' in first
    assert 'data-testid="previous-page"' not in first
    last = client.get(ROWS_URL, {"size": 50, "page": 3}).content.decode()
    assert codes(last) == [f"P-{n:03d}" for n in range(100, 120)]
    assert 'data-testid="next-page"' not in last
    assert 'data-testid="previous-page"' in last


def test_open_alerts_are_listed_on_top(client, role_user, catalog):
    check_stock_alerts()
    client.force_login(role_user("operations"))
    body = client.get(URL).content.decode()
    section = body.split('data-testid="open-alerts"')[1].split("</section>")[0]
    assert "C-OUT" in section and "B-LOW" in section and "F-DEGRADED" in section
    assert 'data-kind="out"' in section


def test_auto_paused_skus_show_why_and_hand_paused_ones_show_paused(
    client, role_user, catalog
):
    check_stock_alerts()
    client.force_login(role_user("operations"))
    body = client.get(ROWS_URL).content.decode()
    assert states(body)["C-OUT"] == "out"
    assert states(body)["F-DEGRADED"] == "degraded"
    assert states(body)["D-PAUSED"] == "paused"
    row = body.split('data-sku="C-OUT"')[1].split("</tr>")[0]
    assert "（已自动暂停）" in row
    paused = client.get(ROWS_URL, {"state": "paused"}).content.decode()
    assert codes(paused) == ["D-PAUSED"]


def _many_skus(n):
    product = make_product()
    supplier = Supplier.objects.create(
        name=f"bulk-{n}", endpoint="http://127.0.0.1:9/", merchant_id=f"bulk{n}"
    )
    for i in range(n):
        topup = i % 3 == 0
        sku = make_sku(
            f"Q-{n}-{i:03d}",
            product=product,
            stock=i,
            **({"delivery_type": Sku.DeliveryType.TOPUP} if topup else {}),
        )
        sell(sku, d0=i % 5, d2=i % 7)
        if topup:
            record_calls(make_offer(sku=sku, supplier=supplier), calls(3, 1))


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"sort": "-sold_7d"},
        {"sort": "state"},
        {"sort": "success"},
        {"state": "low", "sort": "-cover"},
    ],
)
def test_query_count_does_not_grow_with_rows_shown(
    client, role_user, db, django_assert_max_num_queries, params
):
    client.force_login(role_user("support"))
    _many_skus(5)
    client.get(URL, params)  # warm caches (content types, sessions)
    # 15: the page, plus the back-office banner's read of waiting work (kameng.health)
    with django_assert_max_num_queries(15) as small:
        assert client.get(URL, params).status_code == 200
    _many_skus(50)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(URL, {**params, "size": 200})
    assert response.status_code == 200
    with django_assert_max_num_queries(11):  # the 11th: the page's forecasts
        rows = client.get(ROWS_URL, {**params, "size": 200})
    assert rows.status_code == 200
