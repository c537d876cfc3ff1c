"""Flash sales in the back office and the shop: the live page's figures, profit
only for those who see costs, the admin's validation, the countdown, and the
module switched off hiding all of it."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kameng.modules import switch_module
from marketing.flash_sales import MODULE, save_flash_sale
from marketing.models import FlashSale
from orders.checkout import buy_with_wallet
from tests.catalog.factories import make_sku
from tests.marketing.flash_helpers import make_flash_sale
from tests.orders.factories import make_buyer, stock_codes

pytestmark = pytest.mark.django_db


@pytest.fixture
def sale_with_orders():
    sku = make_sku(price=Decimal("9.80"), cost_price=Decimal("3.00"))
    stock_codes(sku, 10)
    sku.refresh_from_db()
    sale = make_flash_sale(sku, price=Decimal("5.00"), cap=10, per_buyer=2)
    buy_with_wallet(sku=sku, quantity=2, buyer=make_buyer(Decimal("50.00")))
    buy_with_wallet(sku=sku, quantity=1, buyer=make_buyer(Decimal("50.00")))
    return sale


def test_live_page_shows_sold_gmv_and_polls(client, role_user, sale_with_orders):
    client.force_login(role_user("superadmin"))
    page = client.get(
        reverse("marketing:flash_sale_live", args=[sale_with_orders.pk])
    ).content.decode()
    assert 'data-testid="flash-sold">3 / 10<' in page
    assert 'data-testid="flash-gmv">¥15.00<' in page
    assert 'data-testid="flash-profit">¥6.00<' in page  # 15.00 - 3 × 3.00
    assert 'data-testid="flash-buyers">2<' in page
    assert 'hx-trigger="every 3s"' in page
    fragment = client.get(
        reverse("marketing:flash_sale_figures", args=[sale_with_orders.pk])
    ).content.decode()
    assert 'data-testid="flash-remaining">7<' in fragment
    assert "<html" not in fragment


def test_marketing_sees_no_profit_operations_do(client, role_user, sale_with_orders):
    url = reverse("marketing:flash_sale_live", args=[sale_with_orders.pk])
    client.force_login(role_user("marketing"))
    page = client.get(url).content.decode()
    assert 'data-testid="flash-gmv"' in page
    assert "flash-profit" not in page
    assert "¥9.00" not in page  # nor the cost
    client.force_login(role_user("operations"))
    assert "flash-profit" in client.get(url).content.decode()


def test_support_cannot_open_the_live_page(client, role_user, sale_with_orders):
    client.force_login(role_user("support"))
    url = reverse("marketing:flash_sale_live", args=[sale_with_orders.pk])
    assert client.get(url).status_code == 403


def test_results_list_units_per_buyer(client, role_user, sale_with_orders):
    client.force_login(role_user("marketing"))
    page = client.get(
        reverse("marketing:flash_sale_results", args=[sale_with_orders.pk])
    ).content.decode()
    assert 'data-testid="flash-buyers-table"' in page
    assert page.count('<td class="py-2 pr-4">2</td>') == 1
    assert "every 3s" not in page  # results do not poll


def test_admin_refuses_an_overlapping_sale_in_chinese(client, role_user):
    sku = make_sku(price=Decimal("9.80"))
    first = make_flash_sale(sku, starts_in=timedelta(hours=1))
    client.force_login(role_user("marketing"))
    start = timezone.localtime(first.starts_at + timedelta(minutes=10))
    end = start + timedelta(hours=2)
    response = client.post(
        reverse("admin:marketing_flashsale_add"),
        {
            "sku": sku.pk,
            "title": "",
            "starts_at_0": start.strftime("%Y-%m-%d"),
            "starts_at_1": start.strftime("%H:%M:%S"),
            "ends_at_0": end.strftime("%Y-%m-%d"),
            "ends_at_1": end.strftime("%H:%M:%S"),
            "price": "5.00",
            "quantity_cap": "10",
            "per_buyer_cap": "1",
        },
    )
    assert response.status_code == 200
    assert "不能重叠" in response.content.decode()
    assert FlashSale.objects.count() == 1


def test_product_page_counts_down_to_the_start_then_to_the_end(client):
    sku = make_sku(price=Decimal("9.80"))
    stock_codes(sku, 5)
    upcoming = make_flash_sale(sku, starts_in=timedelta(hours=2), cap=5)
    url = reverse("shop:product", args=[sku.product_id])
    page = client.get(url).content.decode()
    assert 'data-testid="flash-countdown"' in page
    assert "距开始" in page
    assert f'data-target="{int(upcoming.starts_at.timestamp() * 1000)}"' in page
    upcoming.starts_at = timezone.now() - timedelta(minutes=1)
    save_flash_sale(sale=upcoming)
    client.force_login(make_buyer())
    page = client.get(url).content.decode()
    assert "距结束" in page
    assert 'data-testid="flash-remaining">5<' in page
    assert "限时秒杀价" in page or "秒杀价" in page


def test_module_off_hides_layer_countdown_admin_and_pages(
    client, role_user, sale_with_orders, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        switch_module(code=MODULE, enabled=False, actor=None)
    client.force_login(role_user("superadmin"))
    assert (
        client.get(reverse("admin:marketing_flashsale_changelist")).status_code == 404
    )
    live = reverse("marketing:flash_sale_live", args=[sale_with_orders.pk])
    assert client.get(live).status_code == 404
    shop = client.get(
        reverse("shop:product", args=[sale_with_orders.sku.product_id])
    ).content.decode()
    assert "flash-countdown" not in shop
    assert "秒杀" not in shop


@pytest.mark.parametrize("role", ["superadmin", "marketing", "operations"])
def test_flash_sale_pages_read_in_chinese(client, role_user, role, sale_with_orders):
    client.force_login(role_user(role))
    pk = sale_with_orders.pk
    urls = [
        reverse("marketing:flash_sales_live"),
        reverse("marketing:flash_sale_live", args=[pk]),
        reverse("marketing:flash_sale_results", args=[pk]),
        reverse("admin:marketing_flashsale_changelist"),
        reverse("admin:marketing_flashsale_change", args=[pk]),
    ]
    if role != "operations":
        urls.append(reverse("admin:marketing_flashsale_add"))
    english = (
        "Flash sale",
        "flash price",
        "units sold",
        "Live page",
        "Results",
        "Upcoming",
        "Ended",
        "Live now",
        "per buyer",
        "Limits",
        "So far",
    )
    for url in urls:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200, url
        text = re.sub(
            r"(?s)<script.*?</script>|<[^>]+>", " ", response.content.decode()
        )
        assert "秒杀" in text, url
        assert not [phrase for phrase in english if phrase in text], url
