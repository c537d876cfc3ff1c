"""Support opens a buyer's profile from an order, on desktop and phone."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.checkout import buy_with_wallet
from tests.catalog.factories import make_product, make_sku
from tests.e2e.helpers import VIEWPORTS, screenshot
from tests.e2e.test_login_roles import log_in
from tests.orders.factories import make_buyer, stock_codes
from users.models import MemberLevel, ProductView

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_support_opens_a_buyers_profile_from_an_order(
    live_server, new_page, role_user, screenshot_dir, viewport
):
    MemberLevel.objects.create(code="bronze", name="青铜", rank=0)
    MemberLevel.objects.create(
        code="silver", name="白银", rank=10, growth_threshold=Decimal("100.00")
    )
    sku = make_sku(product=make_product(name="Q币直充卡"), price=Decimal("9.80"))
    stock_codes(sku, 1)
    buyer = make_buyer(Decimal("20.00"), nickname="王芳")
    order = buy_with_wallet(sku=sku, quantity=1, buyer=buyer)  # commits: signals run
    ProductView.objects.create(user=buyer, product_id=sku.product_id)
    support = role_user("support")
    page, watcher = new_page(viewport)
    shots = screenshot_dir / f"buyer-profile-{viewport}"

    log_in(page, live_server.url, support.username, shots)
    page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
    page.get_by_test_id("buyer-profile").click()

    expect(page.get_by_test_id("page-buyer-profile")).to_be_visible()
    expect(page.get_by_test_id("profile-level")).to_contain_text("青铜")
    expect(page.get_by_test_id("profile-level")).to_contain_text("白银")  # next
    expect(page.get_by_test_id("profile-orders")).to_contain_text(order.order_no)
    expect(page.get_by_test_id("profile-trail")).to_contain_text("Q币直充卡")
    expect(page.get_by_test_id("active-hours")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[viewport]["viewport"]["width"]  # no sideways scroll
    screenshot(page, f"{shots}-profile.png")
    watcher.assert_clean()
