"""Adapter for the Kameng supplier protocol v1 (docs/supplier-protocol.md).

JSON over HTTP(S) with stdlib urllib; every request and response is signed with
HMAC-SHA256 (catalog.suppliers.signing). The supplier's `timeout_seconds` bounds
each socket operation (connect, each read).
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

from django.utils.translation import gettext as _

from catalog.suppliers import signing
from catalog.suppliers.base import (
    CallbackData,
    CallbackRejected,
    ResultStatus,
    SupplierAdapter,
    SupplierBadResponse,
    SupplierRejected,
    SupplierResult,
    SupplierTimeout,
    SupplierUnreachable,
)

ORDER_NO_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MAX_BODY_BYTES = 64 * 1024
USER_AGENT = "Kameng/1 (supplier-protocol kameng-v1)"


def validate_order_no(order_no: str) -> str:
    if not isinstance(order_no, str) or not ORDER_NO_RE.match(order_no):
        raise ValueError(
            _("order_no must be 1-40 letters, digits, - or _: %(value)r")
            % {"value": order_no}
        )
    return order_no


def parse_order_state(data, *, order_no: str | None = None) -> dict:
    """Validate the JSON object describing an order's state (response or callback)
    and return its cleaned fields; raises ValueError naming the field."""
    if not isinstance(data, dict):
        raise ValueError(_("The body must be a JSON object."))
    got_no = data.get("order_no")
    if not isinstance(got_no, str) or not ORDER_NO_RE.match(got_no):
        raise ValueError(_("Field order_no is missing or malformed."))
    if order_no is not None and got_no != order_no:
        raise ValueError(
            _("Field order_no is %(got)s, expected %(want)s.")
            % {"got": got_no, "want": order_no}
        )
    status = data.get("status")
    if status not in ResultStatus.values:
        raise ValueError(
            _("Field status must be one of %(choices)s.")
            % {"choices": ", ".join(ResultStatus.values)}
        )
    trade_no = data.get("trade_no") or ""
    if not isinstance(trade_no, str) or len(trade_no) > 40:
        raise ValueError(_("Field trade_no must be a string of at most 40 characters."))
    if status == ResultStatus.SUCCESS and not trade_no:
        raise ValueError(_("Field trade_no is required when status is success."))
    message = data.get("message") or ""
    code = data.get("code") or ""
    if not isinstance(message, str) or not isinstance(code, str):
        raise ValueError(_("Fields message and code must be strings."))
    return {
        "order_no": got_no,
        "status": status,
        "trade_no": trade_no,
        "message": message[:200],
        "code": code[:40],
    }


class KamengV1Adapter(SupplierAdapter):
    protocol = "kameng-v1"

    def _url(self, *parts: str) -> str:
        base = self.supplier.endpoint
        if not base.endswith("/"):
            base += "/"
        return base + "/".join(urllib.parse.quote(p, safe="") for p in parts) + "/"

    # -- requests -------------------------------------------------------------
    def submit(
        self,
        *,
        order_no: str,
        supplier_sku: str,
        quantity: int,
        account: dict,
        callback_url: str,
    ) -> SupplierResult:
        validate_order_no(order_no)
        payload = {
            "order_no": order_no,
            "sku": supplier_sku,
            "quantity": int(quantity),
            "account": dict(account),
            "callback_url": callback_url,
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8"
        )
        return self._exchange("POST", self._url("orders"), body, order_no)

    def query(self, *, order_no: str) -> SupplierResult:
        validate_order_no(order_no)
        return self._exchange("GET", self._url("orders", order_no), b"", order_no)

    def _exchange(
        self, method: str, url: str, body: bytes, order_no: str
    ) -> SupplierResult:
        path = urllib.parse.urlsplit(url).path
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            **signing.sign(
                key=self.key,
                merchant=self.supplier.merchant_id,
                method=method,
                path=path,
                body=body,
            ),
        }
        request = urllib.request.Request(
            url, data=body if method == "POST" else None, headers=headers, method=method
        )
        status, response_headers, raw = self._send(request)
        if status == 401:
            raise SupplierRejected(
                _("The supplier refused our signature (HTTP 401)."), http_status=401
            )
        if status >= 500:
            raise SupplierBadResponse(
                _("The supplier answered HTTP %(status)s.") % {"status": status},
                http_status=status,
            )
        # Garbage first (a proxy's error page carries no signature), then trust.
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise SupplierBadResponse(
                _("The supplier's response is not JSON (HTTP %(status)s).")
                % {"status": status},
                http_status=status,
            ) from exc
        try:
            signed = signing.read_headers(response_headers)
            if signed.merchant != self.supplier.merchant_id:
                raise signing.SignatureError(
                    "unknown_merchant", _("The response names another merchant.")
                )
            signing.verify(
                keys=[self.key],
                signed=signed,
                method="RESPONSE",
                path=path,
                body=raw,
                scope="response",
            )
        except signing.SignatureError as exc:
            raise SupplierRejected(
                _("The supplier's response is not signed correctly: %(reason)s")
                % {"reason": exc.message},
                http_status=status,
            ) from exc
        if status >= 400:
            return self._error_result(data, status, order_no)
        try:
            state = parse_order_state(data, order_no=order_no)
        except ValueError as exc:
            raise SupplierBadResponse(
                _("The supplier's response is invalid: %(error)s") % {"error": exc},
                http_status=status,
            ) from exc
        return SupplierResult(http_status=status, raw=data, **state)

    def _error_result(self, data, status: int, order_no: str) -> SupplierResult:
        """A signed 4xx answer: the supplier refuses this order (not a transport
        failure). 404 means it has no such order."""
        if not isinstance(data, dict) or not isinstance(data.get("error"), str):
            raise SupplierBadResponse(
                _("The supplier answered HTTP %(status)s without an error code.")
                % {"status": status},
                http_status=status,
            )
        code = "not_found" if status == 404 else data["error"][:40]
        message = data.get("message")
        return SupplierResult(
            status=ResultStatus.FAILED,
            order_no=order_no,
            code=code,
            message=message[:200] if isinstance(message, str) else code,
            http_status=status,
            raw=data,
        )

    def _send(self, request) -> tuple[int, Mapping[str, str], bytes]:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.headers, response.read(MAX_BODY_BYTES)
        except urllib.error.HTTPError as exc:
            with exc:
                try:
                    raw = exc.read(MAX_BODY_BYTES)
                except (OSError, http.client.HTTPException):
                    raw = b""
            return exc.code, exc.headers or {}, raw
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise self._timeout() from exc
            raise SupplierUnreachable(
                _("Cannot reach the supplier: %(reason)s") % {"reason": exc.reason}
            ) from exc
        except TimeoutError as exc:
            raise self._timeout() from exc
        except http.client.HTTPException as exc:
            raise SupplierBadResponse(
                _("The supplier sent a malformed HTTP answer: %(error)s")
                % {"error": exc.__class__.__name__}
            ) from exc
        except OSError as exc:
            raise SupplierUnreachable(
                _("Connection to the supplier failed: %(error)s") % {"error": exc}
            ) from exc

    def _timeout(self) -> SupplierTimeout:
        return SupplierTimeout(
            _("The supplier did not answer within %(seconds)s s.")
            % {"seconds": self.supplier.timeout_seconds}
        )

    # -- callbacks --------------------------------------------------------------
    def verify_callback(
        self, *, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> CallbackData:
        try:
            signed = signing.read_headers(headers)
            if signed.merchant != self.supplier.merchant_id:
                raise signing.SignatureError(
                    "unknown_merchant",
                    _("X-Kameng-Merchant does not match this supplier."),
                )
            signing.verify(
                keys=[self.key],
                signed=signed,
                method=method,
                path=path,
                body=body,
                scope="callback",
            )
        except signing.SignatureError as exc:
            raise CallbackRejected(exc.message, reason=exc.reason) from exc
        try:
            data = json.loads(body.decode("utf-8"))
            state = parse_order_state(data)
        except (UnicodeDecodeError, ValueError) as exc:
            raise CallbackRejected(
                _("The callback body is invalid: %(error)s") % {"error": exc},
                reason="bad_body",
            ) from exc
        return CallbackData(
            merchant=signed.merchant,
            order_no=state["order_no"],
            status=state["status"],
            trade_no=state["trade_no"],
            message=state["message"],
        )
