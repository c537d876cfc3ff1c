"""The inventory monitor in a real browser: it renders in the admin layout, sorts,
and htmx swaps the table body for a fresh one without breaking the page."""

import pytest
from playwright.sync_api import expect

from catalog.services.inventory import check_stock_alerts
from tests.catalog.factories import make_product, make_sku
from tests.catalog.test_inventory_health import calls, make_offer, record_calls
from tests.e2e.helpers import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_operator_watches_the_monitor(
    live_server, new_page, role_user, screenshot_dir, viewport
):
    product = make_product("王者荣耀点券")
    make_sku("WZ-OUT", product=product, stock=0)
    make_sku("WZ-LOW", product=product, stock=3)
    make_sku("WZ-OK", product=product, stock=900)
    topup = make_sku("WZ-TOPUP", product=product, delivery_type="topup")
    record_calls(make_offer(sku=topup), calls(19, 1, latency=180))
    check_stock_alerts()
    user = role_user("operations")
    page, watcher = new_page(viewport)
    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill("x-test-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("dashboard")).to_be_visible()

    page.goto(live_server.url + "/admin/catalog/inventory/?sort=state")
    rows = page.locator("#inventory-rows tr[data-sku]")
    expect(rows).to_have_count(4)
    expect(rows.first).to_have_attribute("data-sku", "WZ-OUT")
    expect(page.get_by_test_id("open-alerts")).to_contain_text("WZ-LOW")
    screenshot(page, screenshot_dir / f"{viewport}.png")

    # What htmx's 30-second timer does, right now: fetch the body, swap it in.
    make_sku("WZ-NEW", product=product, stock=500)
    page.evaluate(
        """() => htmx.ajax('GET', document.querySelector('#inventory-rows')
                 .getAttribute('hx-get'), {target: '#inventory-rows',
                 swap: 'outerHTML'})"""
    )
    expect(rows).to_have_count(5)
    expect(page.locator("#inventory-rows")).to_have_attribute("hx-trigger", "every 30s")
    watcher.assert_clean()
