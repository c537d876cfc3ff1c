"""Malformed numbers and signatures from unauthenticated requests are refused
with the endpoint's normal error, never a 500: superscript and other scripts'
digits (which `str.isdigit()` accepts), numbers too long for `int()` or a
column, and non-ASCII signatures (which `hmac.compare_digest` cannot compare)."""

import pytest

from orders.models import Order, Payment
from tests.orders.factories import make_buyer
from tests.orders.payments_helpers import (
    card_order,
    post_sandbox_notify,
    sandbox_message,
)
from tests.orders.test_payments_epay import KEY, PID, recorded_notify

pytestmark = pytest.mark.django_db

NOT_NUMBERS = [
    "²",  # superscript two: isdigit() is True, int() refuses it
    "١٧٠٠٠٠٠٠٠٠",  # Arabic-Indic digits: isdigit() is True, int() reads them
    "9" * 5000,  # int() refuses more than 4300 digits
    "9" * 19,  # more than a bigint holds
    "+1700000000",
    " 1700000000",
    "1_700_000_000",
    "",
]
NOT_ASCII_SIGNATURES = ["é" * 64, "签名" * 16, "ａ" * 64, "\u00ff" * 64]


def _unpaid(order: Order) -> bool:
    order.refresh_from_db()
    return order.status == Order.Status.PENDING_PAYMENT and not (
        Payment.objects.filter(order=order).exists()
    )


@pytest.mark.parametrize("timestamp", NOT_NUMBERS)
def test_a_sandbox_notify_with_a_malformed_timestamp_gets_a_400(client, timestamp):
    order, _texts = card_order()
    body, headers = sandbox_message(order)
    headers["X-Pay-Timestamp"] = timestamp
    response = post_sandbox_notify(client, body, headers)
    assert response.status_code == 400
    expected = "missing_header" if timestamp == "" else "bad_timestamp"
    assert response.json() == {"ok": False, "error": expected}
    assert _unpaid(order)


@pytest.mark.parametrize("given", NOT_ASCII_SIGNATURES)
def test_a_sandbox_notify_with_a_non_ascii_signature_gets_a_400(client, given):
    order, _texts = card_order()
    body, headers = sandbox_message(order)
    headers["X-Pay-Signature"] = given
    response = post_sandbox_notify(client, body, headers)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": "bad_signature"}
    assert _unpaid(order)


def test_a_sandbox_notify_with_a_newline_after_the_nonce_is_refused(client):
    order, _texts = card_order()
    body, headers = sandbox_message(order, nonce="a" * 20)
    headers["X-Pay-Nonce"] = "a" * 20 + "\n"
    response = post_sandbox_notify(client, body, headers)
    assert response.status_code == 400
    assert _unpaid(order)


@pytest.fixture
def epay_on(settings):
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "epay": {
            "enabled": True,
            "url": "https://pay.example.com/",
            "pid": PID,
            "key": KEY,
            "type": "alipay",
        },
    }


@pytest.mark.parametrize("given", NOT_ASCII_SIGNATURES)
def test_an_epay_notify_with_a_non_ascii_sign_is_answered_fail(client, epay_on, given):
    order, _texts = card_order()
    params = recorded_notify(order_no=order.order_no, money=f"{order.amount:.2f}")
    params["sign"] = given
    response = client.get("/pay/epay/notify/", params)
    assert response.status_code == 200  # epay's protocol: the body says it
    assert response.content == b"fail"
    assert _unpaid(order)


@pytest.mark.parametrize("before", NOT_NUMBERS[:-1])
def test_my_orders_with_a_malformed_cursor_is_a_404(client, before):
    client.force_login(make_buyer())
    assert client.get("/shop/orders/", {"before": before}).status_code == 404


def test_my_orders_with_a_good_cursor_still_pages(client):
    client.force_login(make_buyer())
    assert client.get("/shop/orders/", {"before": "12"}).status_code == 200
    assert client.get("/shop/orders/", {"before": ""}).status_code == 200


@pytest.mark.parametrize("quantity", NOT_NUMBERS)
def test_a_price_quote_for_a_malformed_quantity_shows_no_price(client, quantity):
    order, _texts = card_order()
    response = client.get(f"/shop/quote/{order.sku_id}/", {"quantity": quantity})
    assert response.status_code == 200
    assert response.context["quote"] is None


BAD_NUMBERS = ["%00", "W%00", "26%0011", "%C2%B2", "订单", "9" * 25, "W" + "9" * 5000]


@pytest.mark.parametrize("number", BAD_NUMBERS)
@pytest.mark.parametrize(
    "page",
    [
        "/pay/sandbox/{}/",
        "/shop/orders/{}/",
        "/shop/orders/{}/pay/",
        "/shop/wallet/topups/{}/pay/",
    ],
)
def test_a_malformed_order_number_in_a_url_is_a_404(client, page, number):
    """A NUL byte reached a Postgres query and crashed it (500)."""
    client.force_login(make_buyer())
    for method in (client.get, client.post):
        assert method(page.format(number)).status_code == 404


@pytest.mark.parametrize("slug", ["\x00", "a\x00b", "²", "分类", "x" * 5000])
def test_a_malformed_category_in_the_shop_is_a_404(client, slug):
    assert client.get("/shop/", {"c": slug}).status_code == 404
