"""Marketing issues a coupon to a segment in a real browser: the job page's
progress bar moves to 100 % without a reload (htmx polling), then a buyer of
the segment finds the coupon in 我的优惠券, and it comes off the price when
they buy. Desktop and phone."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from marketing import issuing_views
from marketing.issuing import run_issue_job
from marketing.models import Coupon, CouponIssueJob, Segment
from marketing.services import refresh_segment
from tests.catalog.factories import make_category, make_product, make_sku
from tests.e2e.helpers import VIEWPORTS, pass_two_factor, screenshot
from tests.marketing.issuing_helpers import make_template
from tests.orders.factories import make_buyer, stock_codes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "x-test-password"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_marketing_issues_to_a_segment_and_a_buyer_uses_the_coupon(
    live_server, new_page, screenshot_dir, role_user, monkeypatch, viewport
):
    product = make_product(name="网易点卡", category=make_category("网易"))
    sku = make_sku(product=product, name="¥60", price=Decimal("60.00"))
    stock_codes(sku, 2, prefix="WY")
    buyer = make_buyer(Decimal("100.00"), password=PASSWORD)
    others = [make_buyer(Decimal("0.00")) for _ in range(3)]
    segment = Segment.objects.get(builtin=Segment.Builtin.NEW)
    refresh_segment(segment=segment)
    template = make_template(
        name="新客满50减10",
        kind="amount_off",
        amount=Decimal("10.00"),
        threshold=Decimal("50.00"),
    )
    # The worker is this test: the job waits queued until the test runs it,
    # so the page is seen polling, then done without a reload.
    monkeypatch.setattr(issuing_views, "enqueue_issue_job", lambda job_id: None)
    marketer = role_user("marketing")
    page, watcher = new_page(viewport)
    shots = screenshot_dir / viewport

    page.goto(f"{live_server.url}/admin/login/?next=/admin/marketing/coupons/bulk/")
    page.get_by_label("用户名").fill(marketer.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    pass_two_factor(page, marketer.username)
    form = page.get_by_test_id("coupon-issue-form")
    form.locator("select[name=template]").select_option(str(template.pk))
    form.locator("select[name=segment]").select_option(str(segment.pk))
    form.locator("input[name=issue_key]").fill("newcomers-nov")
    screenshot(page, f"{shots}-form.png")
    page.get_by_test_id("coupon-issue-start").click()
    progress = page.get_by_test_id("issue-progress")
    expect(progress).to_have_attribute("data-status", "queued")
    expect(progress).to_have_attribute("data-percent", "0")
    job = CouponIssueJob.objects.get()
    run_issue_job(job_id=job.pk)
    expect(progress).to_have_attribute("data-percent", "100", timeout=10_000)
    expect(page.get_by_test_id("issue-done")).to_contain_text("已发放 4 张")
    screenshot(page, f"{shots}-done.png")
    assert Coupon.objects.filter(template=template).count() == 1 + len(others)

    shop = page.context.browser.new_context(**VIEWPORTS[viewport]).new_page()
    shop.goto(live_server.url + "/shop/login/")
    shop.get_by_label("用户名").fill(buyer.username)
    shop.get_by_label("密码").fill(PASSWORD)
    shop.locator("main").get_by_role("button", name="登录").click()
    shop.goto(live_server.url + "/shop/coupons/")
    expect(shop.get_by_test_id("coupon-list")).to_contain_text("新客满50减10")
    screenshot(shop, f"{shots}-my-coupons.png")
    shop.goto(f"{live_server.url}/shop/p/{product.pk}/")
    expect(shop.get_by_test_id("coupon-select")).to_contain_text("新客满50减10")
    expect(shop.get_by_test_id("quote-coupon")).to_contain_text("−¥10.00")
    shop.get_by_role("button", name="立即购买").click()
    expect(shop.get_by_test_id("order-layer-coupon")).to_contain_text("10.00")
    expect(shop.get_by_test_id("order")).to_contain_text("¥50.00")
    screenshot(shop, f"{shots}-order.png")
    used = Coupon.objects.get(template=template, owner=buyer)
    assert used.status == Coupon.Status.USED
    watcher.assert_clean()
