"""易支付 (epay) adapter, checked against recorded messages written from the
protocol's public description; signatures computed by `md5_sign` below, not by
the code under test."""

import hashlib
import json
import logging
import urllib.parse
from decimal import Decimal
from unittest import mock

import pytest

from orders.models import Order, Payment
from orders.payments.base import NotifyRejected, NotifyRequest, QueryResult
from orders.payments.epay import epay_sign
from orders.payments.registry import available_channels, get_gateway
from orders.payments.services import (
    settle_pending_gateway_orders,
    start_gateway_payment,
)
from tests.orders.payments_helpers import card_order

pytestmark = pytest.mark.django_db

KEY = "Zx9vK2mQ7pL4tR8w"
PID = "1024"


def md5_sign(params: dict, key: str) -> str:
    kept = {k: v for k, v in params.items() if k not in ("sign", "sign_type") and v}
    text = "&".join(f"{k}={kept[k]}" for k in sorted(kept))
    return hashlib.md5((text + key).encode()).hexdigest()


def recorded_notify(order_no="26112512345678", money="9.80", **changes) -> dict:
    """A notify as an epay gateway sends it (GET query parameters)."""
    params = {
        "pid": PID,
        "trade_no": "2026112514301234567",
        "out_trade_no": order_no,
        "type": "alipay",
        "name": "点卡 面值 10",
        "money": money,
        "trade_status": "TRADE_SUCCESS",
        "param": "",
    }
    params.update(changes)
    params["sign"] = md5_sign(params, KEY)
    params["sign_type"] = "MD5"
    return params


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


def _verify(params):
    return get_gateway("epay").verify_notify(NotifyRequest(method="GET", params=params))


def test_a_recorded_notify_verifies(epay_on):
    notice = _verify(recorded_notify())
    assert notice.order_no == "26112512345678"
    assert notice.trade_no == "2026112514301234567"
    assert notice.amount == Decimal("9.80")
    assert notice.paid


def test_a_known_signature_matches_the_documented_recipe():
    """Fixed vector: md5("a=1&b=2&c=3" + "key") from the recipe by hand."""
    params = {
        "c": "3",
        "a": "1",
        "b": "2",
        "empty": "",
        "sign": "x",
        "sign_type": "MD5",
    }
    assert epay_sign(params, "key") == hashlib.md5(b"a=1&b=2&c=3key").hexdigest()


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda p: p.update(money="0.01"), "bad_signature"),
        (lambda p: p.update(out_trade_no="26112599999999"), "bad_signature"),
        (lambda p: p.update(sign=md5_sign(p, "wrong-key")), "bad_signature"),
        (lambda p: p.pop("sign"), "missing_field"),
        (lambda p: p.update(sign=""), "missing_field"),
        (lambda p: p.update(sign_type="RSA"), "bad_sign_type"),
    ],
    ids=["tampered-money", "tampered-order", "wrong-key", "no-sign", "empty", "rsa"],
)
def test_tampered_or_unsigned_notifies_are_rejected(epay_on, tamper, reason):
    params = recorded_notify()
    tamper(params)
    with pytest.raises(NotifyRejected) as exc:
        _verify(params)
    assert exc.value.reason == reason


def test_a_notify_signed_for_another_merchant_is_rejected(epay_on):
    params = recorded_notify(pid="9999")
    with pytest.raises(NotifyRejected) as exc:
        _verify(params)
    assert exc.value.reason == "wrong_merchant"


def test_a_signed_notify_missing_a_field_is_rejected(epay_on):
    params = recorded_notify()
    del params["trade_no"]
    params["sign"] = md5_sign(params, KEY)
    with pytest.raises(NotifyRejected) as exc:
        _verify(params)
    assert exc.value.reason == "missing_field"


def test_a_signed_notify_with_a_bad_money_field_is_rejected(epay_on):
    with pytest.raises(NotifyRejected) as exc:
        _verify(recorded_notify(money="9.8.0"))
    assert exc.value.reason == "bad_amount"


def test_epay_is_offered_and_starts_with_a_signed_submit_url(epay_on):
    order, _texts = card_order()
    assert "epay" in dict(available_channels())
    url = start_gateway_payment(order=order, channel="epay")
    parts = urllib.parse.urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://pay.example.com/submit.php"
    )
    params = dict(urllib.parse.parse_qsl(parts.query))
    assert params["pid"] == PID and params["out_trade_no"] == order.order_no
    assert params["money"] == "9.80" and params["type"] == "alipay"
    assert params["notify_url"].endswith("/pay/epay/notify/")
    assert params["return_url"].endswith(f"/shop/orders/{order.order_no}/")
    assert params["sign_type"] == "MD5"
    assert params["sign"] == md5_sign(params, KEY)


def test_the_notify_endpoint_pays_and_answers_success(client, epay_on):
    order, texts = card_order()
    params = recorded_notify(order_no=order.order_no)
    response = client.get("/pay/epay/notify/", params)
    assert response.content == b"success"
    assert response["Content-Type"].startswith("text/plain")
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    # POSTed again as a form (gateways retry until "success"): paid once.
    assert client.post("/pay/epay/notify/", params).content == b"success"
    assert Payment.objects.filter(order=order).count() == 1


def test_the_notify_endpoint_answers_fail_to_a_forgery(client, epay_on, caplog):
    order, _texts = card_order()
    params = recorded_notify(order_no=order.order_no)
    params["money"] = "0.01"
    with caplog.at_level(logging.WARNING):
        response = client.get("/pay/epay/notify/", params)
    assert response.content == b"fail"
    assert "bad_signature" in caplog.text
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT
    assert not Payment.objects.exists()


def test_a_notify_that_is_not_a_success_changes_nothing(client, epay_on):
    order, _texts = card_order()
    params = recorded_notify(order_no=order.order_no, trade_status="WAIT_BUYER_PAY")
    assert client.get("/pay/epay/notify/", params).content == b"success"
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT


def test_epay_off_without_configuration(client):
    assert "epay" not in dict(available_channels())
    assert client.get("/pay/epay/notify/", recorded_notify()).status_code == 404


class _Answer:
    def __init__(self, data):
        self.body = json.dumps(data).encode()

    def read(self):
        return self.body

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_the_query_answer_is_read_as_paid_unpaid_or_unknown(epay_on):
    gateway = get_gateway("epay")
    paid = gateway.read_query_answer(
        {
            "code": 1,
            "status": 1,
            "trade_no": "T9",
            "out_trade_no": "N1",
            "money": "9.80",
        },
        order_no="N1",
    )
    assert paid.state == QueryResult.PAID and paid.notice.trade_no == "T9"
    unpaid = gateway.read_query_answer({"code": 1, "status": 0}, order_no="N1")
    assert unpaid.state == QueryResult.UNPAID
    for answer in ({"code": -1, "msg": "订单不存在"}, [], {"code": 1, "status": 1}):
        assert gateway.read_query_answer(answer, order_no="N1").state == "unknown"


def test_a_lost_epay_notify_is_settled_by_the_query(epay_on, settings):
    settings.PAYMENT_QUERY_AFTER_MINUTES = 0
    order, _texts = card_order()
    start_gateway_payment(order=order, channel="epay")
    answer = {
        "code": 1,
        "status": 1,
        "trade_no": "EP123",
        "out_trade_no": order.order_no,
        "money": "9.80",
    }
    with mock.patch("urllib.request.urlopen", return_value=_Answer(answer)) as call:
        assert settle_pending_gateway_orders()["paid"] == 1
    asked = call.call_args.args[0]
    assert asked.startswith("https://pay.example.com/api.php?act=order")
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert Payment.objects.get(order=order).trade_no == "EP123"
