"""The sandbox payment gateway: behaves like a real one, without real money.

- `start` opens a trade and sends the buyer to its payment page
  (/pay/sandbox/<order_no>/) showing the amount with "pay" and "fail" buttons.
- Paying sends an asynchronous notify to our notify URL: a JSON body
  {"order_no", "trade_no", "amount", "status", "paid_at"} signed with
  HMAC-SHA256 over "<timestamp>\\n<nonce>\\n<body>" in the headers
  X-Pay-Timestamp (unix seconds), X-Pay-Nonce (16-64 of [A-Za-z0-9_-]) and
  X-Pay-Signature (hex). A notify is accepted only within
  PAYMENT_NOTIFY_MAX_SKEW_SECONDS of our clock and only once per nonce.
- `query` answers from the gateway's own trade record (kept in the cache, the
  sandbox's "database").
On the full stack the notify leaves from a Celery task over HTTP, a second
after the click, like a real gateway; with eager Celery (embedded default,
tests) it is handed to our notify handler in-process.
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

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.payments.base import (
    Gateway,
    Notice,
    NotifyRejected,
    NotifyRequest,
    QueryResult,
    parse_money,
    payment_subject,
)

logger = logging.getLogger(__name__)

HEADER_TIMESTAMP = "X-Pay-Timestamp"
HEADER_NONCE = "X-Pay-Nonce"
HEADER_SIGNATURE = "X-Pay-Signature"
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
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


def notify_payload(trade: dict) -> dict:
    return {
        "order_no": trade["order_no"],
        "trade_no": trade["trade_no"],
        "amount": trade["amount"],
        "status": "paid",
        "paid_at": trade.get("paid_at", ""),
    }


def send_notify(*, order_no: str) -> bool:
    """POST the signed notify of a paid trade to its notify URL (what the
    gateway's worker does). True when our side answered ok."""
    trade = get_trade(order_no)
    if trade is None or trade["status"] != "paid":
        return False
    body, headers = signed_notify(key=sandbox_key(), payload=notify_payload(trade))
    request = urllib.request.Request(
        trade["notify_url"], data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(  # noqa: S310 - our own configured URL
            request, timeout=NOTIFY_TIMEOUT_SECONDS
        ) as response:
            answer = json.loads(response.read() or b"{}")
            return bool(answer.get("ok"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.warning("sandbox gateway: notify for %s failed: %s", order_no, exc)
        return False


def notify_in_process(*, order_no: str) -> bool:
    """The same signed notify, handed to our notify handler without HTTP (eager
    Celery: there may be no server listening)."""
    from orders.payments.services import receive_notify

    trade = get_trade(order_no)
    if trade is None or trade["status"] != "paid":
        return False
    body, headers = signed_notify(key=sandbox_key(), payload=notify_payload(trade))
    outcome = receive_notify(
        channel="sandbox",
        request=NotifyRequest(method="POST", body=body, headers=headers),
    )
    return outcome.ok


def schedule_notify(*, order_no: str) -> None:
    from kameng.celery import app as celery_app

    if celery_app.conf.task_always_eager:
        notify_in_process(order_no=order_no)
        return
    from orders.tasks import sandbox_send_notify_task

    sandbox_send_notify_task.apply_async(kwargs={"order_no": order_no}, countdown=1)


# The adapter ------------------------------------------------------------------------
class SandboxGateway(Gateway):
    channel = "sandbox"
    label = gettext_lazy("Sandbox gateway (test payments)")

    @property
    def key(self) -> str:
        return sandbox_key(self.config)

    def start(self, *, order, notify_url: str, return_url: str) -> str:
        open_trade(order=order, notify_url=notify_url, return_url=return_url)
        return reverse("payments:sandbox_page", kwargs={"order_no": order.order_no})

    def verify_notify(self, request: NotifyRequest) -> Notice:
        timestamp = request.header(HEADER_TIMESTAMP)
        nonce = request.header(HEADER_NONCE)
        given = request.header(HEADER_SIGNATURE)
        if not (timestamp and nonce and given):
            raise NotifyRejected(
                "missing_header", _("The notify is not signed (headers missing).")
            )
        if not timestamp.isdigit():
            raise NotifyRejected("bad_timestamp", _("The timestamp is not a number."))
        skew = settings.PAYMENT_NOTIFY_MAX_SKEW_SECONDS
        if abs(time.time() - int(timestamp)) > skew:
            raise NotifyRejected(
                "stale_timestamp",
                _("The notify is older than %(seconds)s seconds.") % {"seconds": skew},
            )
        if not NONCE_RE.match(nonce):
            raise NotifyRejected("bad_nonce", _("The nonce is malformed."))
        wanted = signature(
            key=self.key, timestamp=timestamp, nonce=nonce, body=request.body
        )
        if not hmac.compare_digest(wanted, given.strip().lower()):
            raise NotifyRejected("bad_signature", _("The signature does not match."))
        # Only a genuine message burns its nonce, so forgeries cannot block one.
        if not cache.add(f"paysandbox:nonce:{nonce}", 1, timeout=2 * skew + 60):
            raise NotifyRejected(
                "reused_nonce", _("This notify was already received (nonce reused).")
            )
        try:
            data = json.loads(request.body)
        except ValueError as exc:
            raise NotifyRejected("bad_body", _("The body is not JSON.")) from exc
        if not isinstance(data, dict):
            raise NotifyRejected("bad_body", _("The body is not a JSON object."))
        for name in ("order_no", "trade_no", "amount", "status"):
            if not isinstance(data.get(name), str) or not data[name].strip():
                raise NotifyRejected(
                    "missing_field",
                    _("Field %(field)s is missing.") % {"field": name},
                )
        return Notice(
            order_no=data["order_no"].strip()[:24],
            trade_no=data["trade_no"].strip()[:64],
            amount=parse_money(data["amount"], field_name="amount"),
            paid=data["status"] == "paid",
            raw=data,
        )

    def query(self, *, order) -> QueryResult:
        trade = get_trade(order.order_no)
        if trade is None:
            return QueryResult(QueryResult.UNKNOWN, detail="no such trade")
        if trade["status"] != "paid":
            return QueryResult(QueryResult.UNPAID, detail=trade["status"])
        return QueryResult(
            QueryResult.PAID,
            notice=Notice(
                order_no=trade["order_no"],
                trade_no=trade["trade_no"],
                amount=parse_money(trade["amount"], field_name="amount"),
                paid=True,
                raw={**notify_payload(trade), "via": "query"},
            ),
        )

    def answer(self, *, ok: bool, reason: str = ""):
        if ok:
            return JsonResponse({"ok": True})
        return JsonResponse({"ok": False, "error": reason or "rejected"}, status=400)
