"""The order page after a purchase, as the buyer sees it (issue 12 renders it
with less template machinery: the names it shows read with the order, the
review form written out, the header's links reversed once per process)."""

import re
from decimal import Decimal

import pytest
from django.urls import set_script_prefix

from marketing.models import PointsReview
from orders.checkout import buy_with_wallet
from tests.catalog.factories import make_product, make_sku
from tests.orders.factories import make_buyer, stock_codes

pytestmark = pytest.mark.django_db


@pytest.fixture
def bought(client, django_capture_on_commit_callbacks):
    sku = make_sku(
        product=make_product(name="王者荣耀点券"), name="60点", price=Decimal("6.00")
    )
    [code] = stock_codes(sku, 1, prefix="WZRY")
    buyer = make_buyer(Decimal("10.00"))
    with django_capture_on_commit_callbacks(execute=True):
        order = buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    client.force_login(buyer)
    return client, order, code


def test_the_order_page_names_what_was_bought_and_shows_the_code(bought):
    client, order, code = bought
    page = client.get(f"/shop/orders/{order.order_no}/").content.decode()
    assert "王者荣耀点券 · 60点 × 1" in page
    assert f"<li><code>{code}</code></li>" in page


def test_the_written_out_review_form_posts_what_the_review_accepts(bought):
    client, order, _ = bought
    page = client.get(f"/shop/orders/{order.order_no}/").content.decode()
    form = re.search(r'data-testid="review-form">(.*?)</form>', page, re.S).group(1)
    options = re.findall(r'<option value="(\d)"( selected)?>(★+)</option>', form)
    assert [(value, stars) for value, _, stars in options] == [
        (str(n), "★" * n) for n in (5, 4, 3, 2, 1)
    ]
    assert [value for value, selected, _ in options if selected] == ["5"]
    assert '<textarea name="text"' in form and 'maxlength="1000"' in form
    assert "星级" in form and "我的评价" in form
    url = f"/shop/orders/{order.order_no}/review/"
    client.post(url, {"stars": "6", "text": "不存在的星级"})  # not an option
    assert not PointsReview.objects.filter(order_id=order.pk).exists()
    client.post(url, {"stars": options[1][0], "text": "到账很快"})
    review = PointsReview.objects.get(order_id=order.pk)
    assert (review.stars, review.text) == (4, "到账很快")


def test_the_shop_header_links_follow_the_script_prefix(bought):
    client, order, _ = bought
    path = f"/shop/orders/{order.order_no}/"
    page = client.get(path).content.decode()
    assert 'href="/shop/orders/"' in page and 'href="/shop/wallet/"' in page
    # served under a sub-path (as a WSGI server sets it): the same page's
    # header links carry it
    set_script_prefix("/kameng/")
    try:
        page = client.get(path).content.decode()
    finally:
        set_script_prefix("/")
    assert 'href="/kameng/shop/orders/"' in page
    assert 'href="/kameng/shop/wallet/"' in page
    assert 'href="/shop/orders/"' not in page


def test_the_cached_header_follows_the_language_the_modules_and_the_login(
    bought, django_capture_on_commit_callbacks
):
    """The header's links are rendered once per process for each language,
    set of modules, level badge and login state; each page still shows its own."""
    from kameng.modules import switch_module

    client, order, _ = bought
    path = f"/shop/orders/{order.order_no}/"
    page = client.get(path).content.decode()
    assert "我的优惠券" in page and "退出登录" in page
    with django_capture_on_commit_callbacks(execute=True):
        switch_module(code="coupons", enabled=False, actor=None)
    page = client.get(path).content.decode()
    assert "我的优惠券" not in page and "我的订单" in page
    client.cookies["django_language"] = "en"
    page = client.get(path).content.decode()
    assert "My orders" in page and "我的订单" not in page
    assert "My coupons" not in page
    del client.cookies["django_language"]
    anonymous = client.__class__().get("/shop/").content.decode()
    assert "我的订单" not in anonymous and "退出登录" not in anonymous
    assert "登录" in anonymous
    # each page's log-out form carries its own CSRF token, never a cached one
    tokens = {
        re.search(
            r'name="csrfmiddlewaretoken" value="([^"]+)"',
            client.get(p).content.decode(),
        ).group(1)
        for p in (path, "/shop/wallet/")
    }
    assert len(tokens) == 2
