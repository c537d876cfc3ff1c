"""The sandbox payment gateway's own side: what would run at the payment company.

It behaves like a real gateway, without real money:
- A trade is opened for an order (our adapter's `start`) and the buyer pays or
  fails it on the gateway's payment page (/pay/sandbox/<order_no>/).
- Paying sends an asynchronous notify to our notify URL: a JSON body
  {"order_no", "trade_no", "amount", "status", "paid_at"} signed with
  HMAC-SHA256 over "<timestamp>\\n<nonce>\\n<body>" in the headers
  X-Pay-Timestamp (unix seconds), X-Pay-Nonce (16-64 of [A-Za-z0-9_-]) and
  X-Pay-Signature (hex).
- Its trade records (kept in the cache, the sandbox's "database") answer our
  adapter's `query`.
Nothing here knows our orders or payment services: our side is
orders.payments.sandbox (the adapter); orders.payments.tasks decides whether a
notify leaves over HTTP (a Celery task, as a real gateway's worker) or is handed
to our handler in-process (eager Celery in tests: no server is listening).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import time
import urllib.error
import urllib.request
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from orders.payments.base import payment_subject

logger = logging.getLogger(__name__)

HEADER_TIMESTAMP = "X-Pay-Timestamp"
HEADER_NONCE = "X-Pay-Nonce"
HEADER_SIGNATURE = "X-Pay-Signature"
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")  # fullmatch
TRADE_TTL_SECONDS = 7 * 24 * 3600
NOTIFY_TIMEOUT_SECONDS = 5


def sandbox_key(config: dict | None = None) -> str:
    config = config or settings.PAYMENT_CHANNELS["sandbox"]
    if config.get("key"):
        return config["key"]
    return hmac.new(
        settings.SECRET_KEY.encode(), b"kameng-sandbox-gateway", hashlib.sha256
    ).hexdigest()


def signature(*, key: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = f"{timestamp}\n{nonce}\n".encode() + body
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def signed_notify(
    *, key: str, payload: dict, at: int | None = None, nonce: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of one notify, as the sandbox gateway sends it."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()) if at is None else at)
    nonce = nonce or secrets.token_urlsafe(18)
    headers = {
        "Content-Type": "application/json",
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature(
            key=key, timestamp=timestamp, nonce=nonce, body=body
        ),
    }
    return body, headers


# The sandbox gateway's own records ------------------------------------------------
def _trade_key(order_no: str) -> str:
    return f"paysandbox:trade:{order_no}"


def get_trade(order_no: str) -> dict | None:
    return cache.get(_trade_key(order_no))


def forget_trade(order_no: str) -> None:
    """The gateway loses its record of a trade (its cache was cleared)."""
    cache.delete(_trade_key(order_no))


def open_trade(*, order, notify_url: str, return_url: str) -> dict:
    trade = get_trade(order.order_no)
    if trade is None or trade.get("status") == "failed":
        trade = {
            "order_no": order.order_no,
            "amount": str(order.amount),
            "subject": payment_subject(order),
            "status": "created",
            "trade_no": "",
        }
    trade.update(notify_url=notify_url, return_url=return_url)
    cache.set(_trade_key(order.order_no), trade, TRADE_TTL_SECONDS)
    return trade


def finish_trade(*, order_no: str, pay: bool) -> dict | None:
    """The buyer pressed "pay" or "fail" on the sandbox page."""
    trade = get_trade(order_no)
    if trade is None or trade["status"] == "paid":
        return trade
    if pay:
        stamp = timezone.now()
        # Unique like a real gateway's: with 6 random digits, two trades paid in
        # the same second collided often enough under load (~1 in 100 runs of
        # the gateway race test) and the second notify was refused.
        trade.update(
            status="paid",
            trade_no=f"SBX{stamp:%Y%m%d%H%M%S}{secrets.randbelow(10**12):012d}",
            paid_at=stamp.isoformat(),
        )
    else:
        trade["status"] = "failed"
    cache.set(_trade_key(order_no), trade, TRADE_TTL_SECONDS)
    return trade


def refund_trade(*, order_no: str, refund_no: str, amount: str) -> dict:
    """The gateway refunds part or all of a paid trade, once per refund number.
    Answers {"ok": True, "refund_no", "gateway_refund_no"} or {"ok": False,
    "error"} (no such paid trade, or more than is left)."""
    trade = get_trade(order_no)
    if trade is None or trade["status"] != "paid":
        return {"ok": False, "error": "no paid trade"}
    refunds = trade.setdefault("refunds", {})
    if refund_no in refunds:  # a retry: the same answer, nothing paid again
        return {"ok": True, "refund_no": refund_no, **refunds[refund_no]}
    given = sum(Decimal(r["amount"]) for r in refunds.values())
    if Decimal(amount) <= 0 or given + Decimal(amount) > Decimal(trade["amount"]):
        return {"ok": False, "error": "amount exceeds what is left"}
    refunds[refund_no] = {
        "amount": amount,
        "gateway_refund_no": f"SBR{secrets.randbelow(10**12):012d}",
    }
    cache.set(_trade_key(order_no), trade, TRADE_TTL_SECONDS)
    return {"ok": True, "refund_no": refund_no, **refunds[refund_no]}


def notify_payload(trade: dict) -> dict:
    return {
        "order_no": trade["order_no"],
        "trade_no": trade["trade_no"],
        "amount": trade["amount"],
        "status": "paid",
        "paid_at": trade.get("paid_at", ""),
    }


def notify_of(order_no: str) -> tuple[str, bytes, dict[str, str]] | None:
    """Notify URL, body and headers of a paid trade's notify, freshly signed;
    None when there is no paid trade to notify about."""
    trade = get_trade(order_no)
    if trade is None or trade["status"] != "paid":
        return None
    body, headers = signed_notify(key=sandbox_key(), payload=notify_payload(trade))
    return trade["notify_url"], body, headers


def send_notify(*, order_no: str) -> bool:
    """POST the signed notify of a paid trade to its notify URL (what the
    gateway's worker does). True when our side answered ok."""
    notify = notify_of(order_no)
    if notify is None:
        return False
    url, body, headers = notify
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(  # noqa: S310 - our own configured URL
            request, timeout=NOTIFY_TIMEOUT_SECONDS
        ) as response:
            answer = json.loads(response.read() or b"{}")
            return bool(answer.get("ok"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.warning("sandbox gateway: notify for %s failed: %s", order_no, exc)
        return False
