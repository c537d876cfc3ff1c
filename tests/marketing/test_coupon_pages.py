"""Coupons on shop and back-office pages: 我的优惠券, the preselected coupon on
the product page, the quote's coupon layer, the switch hiding it all, the
named-buyers issue page and the report."""

from decimal import Decimal

import pytest
from django.urls import reverse

from kameng.modules import switch_module
from marketing.models import Coupon
from tests.catalog.factories import make_sku
from tests.marketing.coupon_factories import fixed_dates, give, make_template
from tests.orders.factories import make_buyer, stock_codes

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def sku():
    sku = make_sku(price=D("30.00"), cost_price=D("25.00"), max_quantity=10)
    stock_codes(sku, 5)
    return sku


@pytest.fixture
def buyer(client):
    buyer = make_buyer(D("200.00"))
    client.force_login(buyer)
    return buyer


def test_my_coupons_lists_available_used_and_expired(client, buyer):
    give(make_template(name="满50减10"), buyer)
    give(make_template(name="下月券", **fixed_dates(20, 40)), buyer)
    page = client.get(reverse("shop:coupons"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "满50减10" in html and "下月券" in html
    used = client.get(reverse("shop:coupons") + "?tab=used")
    assert "满50减10" not in used.content.decode()


def test_an_expired_coupon_sits_in_the_expired_tab(client, buyer):
    coupon = give(make_template(name="短期券", valid_days=1), buyer)
    Coupon.objects.filter(pk=coupon.pk).update(
        valid_from=coupon.valid_from - (coupon.valid_until - coupon.valid_from) * 3,
        valid_until=coupon.valid_from - (coupon.valid_until - coupon.valid_from),
    )
    assert "短期券" not in client.get(reverse("shop:coupons")).content.decode()
    expired = client.get(reverse("shop:coupons") + "?tab=expired")
    assert "短期券" in expired.content.decode()


def test_the_product_page_preselects_the_best_coupon_and_quotes_it(client, buyer, sku):
    give(make_template(name="无门槛减3", kind="no_threshold", amount=D("3.00")), buyer)
    best = give(
        make_template(name="无门槛减5", kind="no_threshold", amount=D("5.00")), buyer
    )
    give(make_template(name="满50减10"), buyer)  # 30.00 < 50.00
    page = client.get(reverse("shop:product", args=[sku.product_id]))
    html = page.content.decode()
    assert f'<option value="{best.pk}" selected>' in html
    assert 'data-testid="quote-coupon"' in html
    assert "¥20.00" in html  # the shortfall of 满50减10
    assert "25.00" in html  # 30.00 − 5.00


def test_the_quote_fragment_shows_the_chosen_coupon(client, buyer, sku):
    coupon = give(make_template(), buyer)
    fragment = client.get(
        reverse("shop:quote", args=[sku.pk]), {"quantity": 2, "coupon": coupon.pk}
    )
    html = fragment.content.decode()
    assert 'data-testid="quote-coupon"' in html
    assert "50.00" in html


def test_buying_with_the_preselected_coupon_pays_less(client, buyer, sku):
    coupon = give(make_template(kind="no_threshold", amount=D("5.00")), buyer)
    response = client.post(
        reverse("shop:product", args=[sku.product_id]) + f"?sku={sku.pk}",
        {"quantity": 1, "payment": "wallet", "coupon": coupon.pk},
    )
    assert response.status_code == 302
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.USED
    order_page = client.get(response["Location"])
    assert 'data-testid="order-layer-coupon"' in order_page.content.decode()
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == D("175.00")


def test_switched_off_the_shop_hides_coupons(
    client, buyer, sku, django_capture_on_commit_callbacks
):
    give(make_template(kind="no_threshold", amount=D("5.00")), buyer)
    with django_capture_on_commit_callbacks(execute=True):
        switch_module(code="coupons", enabled=False, actor=None)
    assert client.get(reverse("shop:coupons")).status_code == 404
    html = client.get(reverse("shop:product", args=[sku.product_id])).content.decode()
    assert 'data-testid="coupon-use"' not in html
    assert 'data-testid="nav-coupons"' not in html


def test_switched_off_the_back_office_hides_coupons(
    client, role_user, django_capture_on_commit_callbacks
):
    template = make_template()
    client.force_login(role_user("marketing"))
    assert (
        client.get(reverse("admin:marketing_coupontemplate_changelist")).status_code
        == 200
    )
    with django_capture_on_commit_callbacks(execute=True):
        switch_module(code="coupons", enabled=False, actor=None)
    assert (
        client.get(reverse("admin:marketing_coupontemplate_changelist")).status_code
        == 404
    )
    assert client.get(reverse("marketing:coupon_report")).status_code == 404
    issue = reverse("marketing:coupon_named_issue", args=[template.pk])
    assert client.get(issue).status_code == 404


def test_marketing_issues_to_named_buyers_and_bad_lines_are_named(client, role_user):
    template = make_template()
    buyer = make_buyer()
    client.force_login(role_user("marketing"))
    url = reverse("marketing:coupon_named_issue", args=[template.pk])
    page = client.get(url)
    assert page.status_code == 200
    key = page.context["form"].initial["issue_key"]
    refused = client.post(url, {"buyers": f"{buyer.username}\nghost", "issue_key": key})
    assert "ghost" in refused.content.decode()
    assert not Coupon.objects.exists()
    done = client.post(url, {"buyers": buyer.username, "issue_key": key})
    assert done.status_code == 302
    again = client.post(url, {"buyers": buyer.username, "issue_key": key})
    assert again.status_code == 302
    assert Coupon.objects.filter(owner=buyer).count() == 1  # posted twice: once


@pytest.mark.parametrize(
    "role, sees_profit", [("marketing", False), ("superadmin", True)]
)
def test_report_shows_profit_only_to_those_who_see_costs(
    client, role_user, role, sees_profit
):
    make_template(name="报表券")
    client.force_login(role_user(role))
    page = client.get(reverse("marketing:coupon_report"))
    assert page.status_code == 200
    assert "报表券" in page.content.decode()
    assert page.context["show_profit"] is sees_profit


def test_a_preview_leaves_out_a_coupon_that_no_longer_applies(client, buyer, sku):
    coupon = give(make_template(), buyer)  # 满50减10: 1 × 30.00 is too little
    fragment = client.get(
        reverse("shop:quote", args=[sku.pk]), {"quantity": 1, "coupon": coupon.pk}
    )
    html = fragment.content.decode()
    assert 'data-testid="quote-coupon"' not in html
    assert "30.00" in html


def test_support_reads_a_buyers_coupons_but_cannot_issue(client, role_user):
    template = make_template(name="客服可见券")
    buyer = make_buyer()
    give(template, buyer)
    client.force_login(role_user("support"))
    coupons = client.get(
        reverse("admin:marketing_coupon_changelist"), {"q": buyer.username}
    )
    assert coupons.status_code == 200
    assert "客服可见券" in coupons.content.decode()
    templates = client.get(reverse("admin:marketing_coupontemplate_changelist"))
    assert "发放给买家" not in templates.content.decode()
    issue = reverse("marketing:coupon_named_issue", args=[template.pk])
    assert client.get(issue).status_code == 403


# --- the checkout POST reads no coupon list; a form shown again lists them (issue 12)


def test_a_refused_buy_shows_the_coupon_choices_again(client, buyer, sku):
    coupon = give(
        make_template(name="无门槛减5", kind="no_threshold", amount=D("5.00")), buyer
    )
    give(make_template(name="满500减10", threshold=D("500.00")), buyer)  # with why
    page = client.post(
        reverse("shop:product", args=[sku.product_id]) + f"?sku={sku.pk}",
        {"quantity": 99, "payment": "wallet", "coupon": coupon.pk},  # over the max
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="coupon-select"' in html
    assert f'<option value="{coupon.pk}" selected>' in html  # the buyer's choice
    assert "满500减10" in html and "¥200.00" in html  # the shortfall at 10 × 30.00
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.AVAILABLE
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == D("200.00")


def test_someone_elses_coupon_on_the_buy_post_is_refused(client, buyer, sku):
    theirs = give(
        make_template(kind="no_threshold", amount=D("5.00")), make_buyer(D("0.00"))
    )
    mine = give(make_template(name="无门槛减3", kind="no_threshold"), buyer)
    page = client.post(
        reverse("shop:product", args=[sku.product_id]) + f"?sku={sku.pk}",
        {"quantity": 1, "payment": "wallet", "coupon": theirs.pk},
    )
    assert page.status_code == 200  # shown again, nothing bought
    html = page.content.decode()
    assert "这张优惠券不属于你。" in html  # checkout's rule, not the form's
    assert f'<option value="{mine.pk}"' in html
    theirs.refresh_from_db()
    assert theirs.status == Coupon.Status.AVAILABLE
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == D("200.00")


@pytest.mark.parametrize("posted", ["abc", "-1", "１２"])
def test_a_malformed_coupon_on_the_buy_post_buys_nothing(client, buyer, sku, posted):
    give(make_template(kind="no_threshold"), buyer)
    page = client.post(
        reverse("shop:product", args=[sku.product_id]) + f"?sku={sku.pk}",
        {"quantity": 1, "payment": "wallet", "coupon": posted},
    )
    assert page.status_code == 200
    assert 'class="error"' in page.content.decode()
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == D("200.00")


def test_a_malformed_coupon_without_coupons_to_choose_says_why(client, buyer, sku):
    page = client.post(
        reverse("shop:product", args=[sku.product_id]) + f"?sku={sku.pk}",
        {"quantity": 1, "payment": "wallet", "coupon": "abc"},
    )
    assert page.status_code == 200
    assert 'role="alert"' in page.content.decode()  # a form-level message
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == D("200.00")
