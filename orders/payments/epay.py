"""易支付 (epay): the MD5-signed aggregator protocol most 发卡 shops use.

Written from the protocol's public description:
- Pay: the buyer's browser goes to `<EPAY_URL>/submit.php` with pid, type,
  out_trade_no, notify_url, return_url, name, money, sign, sign_type=MD5.
- Sign: take every parameter except sign and sign_type whose value is not
  empty, sort by name, join as k=v with "&", append the merchant key directly
  (no separator), MD5, lowercase hex.
- Notify: GET or POST to notify_url with pid, trade_no, out_trade_no, type,
  name, money, trade_status (TRADE_SUCCESS when paid), sign, sign_type; the
  shop answers the plain text "success" (anything else and it retries).
- Query: `<EPAY_URL>/api.php?act=order&pid=..&key=..&out_trade_no=..` answers
  JSON with code=1 and status=1 once paid (trade_no, money).
- Refund: the protocol as described has no refund call (some epay sites add
  one, not uniformly), so this adapter keeps the interface's default: a refund
  is BY_HAND, listed for finance to make at the epay merchant site.
Epay notifies carry no timestamp or nonce: a replay is harmless because a
payment is recorded once per trade_no, and the signed money must equal the
order's amount.
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.error
import urllib.parse
import urllib.request

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kameng.parsing import constant_time_equals
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

QUERY_TIMEOUT_SECONDS = 8
REQUIRED = ("trade_no", "out_trade_no", "type", "name", "money", "trade_status")


def epay_sign(params: dict[str, str], key: str) -> str:
    pairs = sorted(
        (name, str(value))
        for name, value in params.items()
        if name not in {"sign", "sign_type"} and value not in (None, "")
    )
    text = "&".join(f"{name}={value}" for name, value in pairs) + key
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - the protocol


class EpayGateway(Gateway):
    channel = "epay"
    label = gettext_lazy("Alipay / WeChat (epay)")

    @property
    def base_url(self) -> str:
        return self.config["url"].rstrip("/")

    def start(self, *, order, notify_url: str, return_url: str) -> str:
        params = {
            "pid": str(self.config["pid"]),
            "type": self.config.get("type") or "alipay",
            "out_trade_no": order.order_no,
            "notify_url": notify_url,
            "return_url": return_url,
            "name": payment_subject(order),
            "money": f"{order.amount:.2f}",
        }
        params["sign"] = epay_sign(params, self.config["key"])
        params["sign_type"] = "MD5"
        return f"{self.base_url}/submit.php?{urllib.parse.urlencode(params)}"

    def verify_notify(self, request: NotifyRequest) -> Notice:
        params = {k: v for k, v in request.params.items() if isinstance(v, str)}
        given = params.get("sign", "").strip().lower()
        if not given:
            raise NotifyRejected("missing_field", _("Field sign is missing."))
        if params.get("sign_type", "MD5").upper() != "MD5":
            raise NotifyRejected(
                "bad_sign_type", _("Only MD5 signatures are accepted.")
            )
        if not constant_time_equals(epay_sign(params, self.config["key"]), given):
            raise NotifyRejected("bad_signature", _("The signature does not match."))
        for name in REQUIRED:
            if not params.get(name, "").strip():
                raise NotifyRejected(
                    "missing_field",
                    _("Field %(field)s is missing.") % {"field": name},
                )
        if params.get("pid") and params["pid"] != str(self.config["pid"]):
            raise NotifyRejected("wrong_merchant", _("The notify is for another pid."))
        return Notice(
            order_no=params["out_trade_no"].strip()[:24],
            trade_no=params["trade_no"].strip()[:64],
            amount=parse_money(params["money"]),
            paid=params["trade_status"] == "TRADE_SUCCESS",
            raw=params,
        )

    def query(self, *, order) -> QueryResult:
        url = f"{self.base_url}/api.php?" + urllib.parse.urlencode(
            {
                "act": "order",
                "pid": self.config["pid"],
                "key": self.config["key"],
                "out_trade_no": order.order_no,
            }
        )
        try:
            with urllib.request.urlopen(  # noqa: S310 - configured https URL
                url, timeout=QUERY_TIMEOUT_SECONDS
            ) as response:
                data = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            logger.warning("epay: query of %s failed: %s", order.order_no, exc)
            return QueryResult(QueryResult.UNKNOWN, detail=str(exc)[:200])
        return self.read_query_answer(data, order_no=order.order_no)

    def read_query_answer(self, data, *, order_no: str) -> QueryResult:
        if not isinstance(data, dict) or str(data.get("code")) != "1":
            detail = data.get("msg", "") if isinstance(data, dict) else ""
            return QueryResult(QueryResult.UNKNOWN, detail=str(detail)[:200])
        if str(data.get("status")) != "1":
            return QueryResult(QueryResult.UNPAID)
        if str(data.get("out_trade_no", order_no)) != order_no or not data.get(
            "trade_no"
        ):
            return QueryResult(QueryResult.UNKNOWN, detail="inconsistent answer")
        try:
            amount = parse_money(data.get("money"))
        except NotifyRejected:
            return QueryResult(QueryResult.UNKNOWN, detail="bad money in answer")
        raw = {k: str(v) for k, v in data.items() if k != "key"}
        return QueryResult(
            QueryResult.PAID,
            notice=Notice(
                order_no=order_no,
                trade_no=str(data["trade_no"])[:64],
                amount=amount,
                paid=True,
                raw={**raw, "via": "query"},
            ),
        )

    def answer(self, *, ok: bool, reason: str = "") -> HttpResponse:
        return HttpResponse(
            "success" if ok else "fail", content_type="text/plain; charset=utf-8"
        )
