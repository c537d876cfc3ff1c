"""Test helpers for gateway payments: signatures computed here, independently of
the code under test, from the documented formats."""

import hashlib
import hmac
import json
import secrets
import time
from decimal import Decimal

from django.conf import settings

from orders.checkout import place_order
from orders.models import Order
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer, stock_codes


def sandbox_test_key() -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), b"kameng-sandbox-gateway", hashlib.sha256
    ).hexdigest()


def sandbox_message(
    order: Order,
    *,
    trade_no: str = "SBX-T-1",
    amount: str | None = None,
    key: str | None = None,
    at: int | None = None,
    nonce: str | None = None,
    status: str = "paid",
) -> tuple[bytes, dict[str, str]]:
    """A sandbox notify as the sandbox gateway's documentation describes it."""
    payload = {
        "order_no": order.order_no,
        "trade_no": trade_no,
        "amount": amount if amount is not None else f"{order.amount:.2f}",
        "status": status,
        "paid_at": "2026-11-25T10:00:00+08:00",
    }
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()) if at is None else at)
    nonce = nonce or secrets.token_hex(12)
    mac = hmac.new(
        (key or sandbox_test_key()).encode(),
        timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body,
        hashlib.sha256,
    ).hexdigest()
    return body, {
        "X-Pay-Timestamp": timestamp,
        "X-Pay-Nonce": nonce,
        "X-Pay-Signature": mac,
    }


def post_sandbox_notify(client, body: bytes, headers: dict):
    return client.post(
        "/pay/sandbox/notify/",
        data=body,
        content_type="application/json",
        headers=headers,
    )


def card_order(
    *, codes: int = 3, quantity: int = 1, price: str = "9.80", guest: bool = False
) -> tuple[Order, list[str]]:
    sku = make_sku(price=Decimal(price))
    texts = stock_codes(sku, codes) if codes else []
    if guest:
        order = place_order(sku=sku, quantity=quantity, contact="guest@example.com")
    else:
        order = place_order(sku=sku, quantity=quantity, buyer=make_buyer())
    return order, texts
