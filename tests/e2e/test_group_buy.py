"""A buyer opens a group buy (size 2) from the product page and shares the
link; a second buyer opens the link, joins and pays: both orders are
delivered. On a desktop and on a 390×844 phone."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog.models import CardCode
from tests.catalog.factories import make_category, make_product
from tests.e2e.helpers import VIEWPORTS, screenshot
from tests.marketing.group_buy_helpers import group_campaign
from tests.orders.factories import make_buyer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "x-test-password"


def log_in(page, url, username):
    page.goto(url + "/shop/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()


def fits_the_screen(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_buyer_opens_a_group_and_a_second_buyer_completes_it(
    live_server, new_page, screenshot_dir, viewport
):
    product = make_product(name="Steam 拼团卡", category=make_category("Steam"))
    campaign = group_campaign(
        size=2,
        price=Decimal("50.00"),
        group_price=Decimal("39.90"),
        codes=4,
        product=product,
        name="¥50",
    )
    leader = make_buyer(Decimal("100.00"), password=PASSWORD)
    friend = make_buyer(Decimal("100.00"), password=PASSWORD)
    shots = screenshot_dir / viewport

    page, watcher = new_page(viewport)
    log_in(page, live_server.url, leader.username)
    page.goto(f"{live_server.url}/shop/p/{product.pk}/")
    expect(page.get_by_test_id("group-offer")).to_contain_text("2 人成团")
    assert fits_the_screen(page)
    screenshot(page, f"{shots}-product.png")
    page.get_by_test_id("group-open").click()

    expect(page.get_by_test_id("group-state")).to_have_text("拼团中，等待成员")
    expect(page.get_by_test_id("seats-left")).to_contain_text("还差 1 人")
    expect(page.get_by_test_id("countdown")).to_contain_text(":")  # the static JS ran
    share = page.get_by_test_id("share-link").input_value()
    assert "/shop/groups/" in share
    assert fits_the_screen(page)
    screenshot(page, f"{shots}-group-open.png")
    assert CardCode.objects.filter(sku=campaign.sku, status="sold").count() == 0
    watcher.assert_clean()

    second, second_watcher = new_page(viewport)
    log_in(second, live_server.url, friend.username)
    second.goto(share)
    expect(second.get_by_test_id("group-members")).to_contain_text(
        leader.username[0] + "*"
    )
    second.get_by_test_id("group-join").click()
    expect(second.get_by_test_id("group-state")).to_have_text("已成团")
    screenshot(second, f"{shots}-group-full.png")
    second.get_by_role("link", name="我的订单").click()
    second.locator("main table a").first.click()
    expect(second.get_by_test_id("order-status")).to_have_text("已发货")
    expect(second.get_by_test_id("codes")).to_be_visible()
    expect(second.get_by_test_id("order-group")).to_contain_text("已成团")
    assert fits_the_screen(second)
    screenshot(second, f"{shots}-order.png")
    second_watcher.assert_clean()

    page.get_by_role("link", name="我的订单").click()
    page.locator("main table a").first.click()
    expect(page.get_by_test_id("order-status")).to_have_text("已发货")
    expect(page.get_by_test_id("codes")).to_be_visible()
    assert CardCode.objects.filter(sku=campaign.sku, status="sold").count() == 2
