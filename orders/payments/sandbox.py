"""Our adapter for the sandbox payment gateway (orders.payments.sandbox_remote).

- `start` opens a trade at the gateway and sends the buyer to its payment page.
- `verify_notify` accepts a notify only when it is signed with the shared key,
  within PAYMENT_NOTIFY_MAX_SKEW_SECONDS of our clock, and only once per nonce.
- `query` asks the gateway's trade record.
- `refund` gives part or all of a paid trade back, once per refund number.
"""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kameng.parsing import constant_time_equals, parse_ascii_int
from orders.payments.base import (
    Gateway,
    Notice,
    NotifyRejected,
    NotifyRequest,
    QueryResult,
    RefundResult,
    parse_money,
)
from orders.payments.sandbox_remote import (
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    NONCE_RE,
    get_trade,
    notify_payload,
    open_trade,
    refund_trade,
    sandbox_key,
    signature,
)


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
        sent_at = parse_ascii_int(timestamp)
        if sent_at is None:
            raise NotifyRejected("bad_timestamp", _("The timestamp is not a number."))
        skew = settings.PAYMENT_NOTIFY_MAX_SKEW_SECONDS
        if abs(time.time() - sent_at) > skew:
            raise NotifyRejected(
                "stale_timestamp",
                _("The notify is older than %(seconds)s seconds.") % {"seconds": skew},
            )
        if not NONCE_RE.fullmatch(nonce):
            raise NotifyRejected("bad_nonce", _("The nonce is malformed."))
        wanted = signature(
            key=self.key, timestamp=timestamp, nonce=nonce, body=request.body
        )
        if not constant_time_equals(wanted, given.strip().lower()):
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

    def refund(self, *, order_no, trade_no, refund_no, amount) -> RefundResult:
        answer = refund_trade(
            order_no=order_no, refund_no=refund_no, amount=f"{amount:.2f}"
        )
        if not answer["ok"]:
            return RefundResult(RefundResult.FAILED, detail=answer["error"])
        return RefundResult(RefundResult.DONE, refund_no=answer["gateway_refund_no"])

    def answer(self, *, ok: bool, reason: str = ""):
        if ok:
            return JsonResponse({"ok": True})
        return JsonResponse({"ok": False, "error": reason or "rejected"}, status=400)
