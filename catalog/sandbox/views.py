"""HTTP face of the sandbox supplier: POST orders/ and GET orders/<order_no>/.

Every request must be signed by a merchant of a sandbox Supplier (401 otherwise);
every answer we give is signed with the same key, except the deliberate garbage.
"""

from __future__ import annotations

import json
import logging
import time

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from catalog.models import SandboxOrder
from catalog.sandbox import engine
from catalog.suppliers import signing
from catalog.suppliers.kameng_v1 import ORDER_NO_RE
from catalog.tasks.suppliers import schedule_sandbox_callback

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_QUANTITY = 1000
MAX_ACCOUNT_FIELDS = 10
GARBAGE = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"


class Refused(Exception):
    def __init__(self, status: int, error: str, message: str, field: str = ""):
        super().__init__(message)
        self.status, self.error, self.message, self.field = (
            status,
            error,
            message,
            field,
        )


def _signed_json(request, key: str, merchant: str, data: dict, status=200):
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    response = HttpResponse(
        body, status=status, content_type="application/json; charset=utf-8"
    )
    for name, value in signing.sign(
        key=key, merchant=merchant, method="RESPONSE", path=request.path, body=body
    ).items():
        response[name] = value
    return response


def _authenticate(request, body: bytes) -> tuple[str, str]:
    """(merchant_id, key) of a correctly signed request, or Refused(401)."""
    if not getattr(settings, "SANDBOX_SUPPLIER_ENABLED", False):
        raise Http404
    try:
        signed = signing.read_headers(request.META)
        keys = engine.merchant_keys(signed.merchant)
        if not keys:
            raise signing.SignatureError(
                "unknown_merchant", _("Unknown merchant of the sandbox supplier.")
            )
        key = signing.verify(
            keys=keys,
            signed=signed,
            method=request.method,
            path=request.path,
            body=body,
            scope="sandbox",
        )
    except signing.SignatureError as exc:
        logger.info("sandbox: refused request: %s", exc.reason)
        raise Refused(401, exc.reason, exc.message) from exc
    return signed.merchant, key


def _unsigned_error(exc: Refused):
    return JsonResponse(
        {"error": exc.error, "message": exc.message, "field": exc.field},
        status=exc.status,
        json_dumps_params={"ensure_ascii": False},
    )


def _parse_submit(body: bytes) -> dict:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused(400, "bad_request", _("The body is not JSON.")) from exc
    if not isinstance(data, dict):
        raise Refused(400, "bad_request", _("The body must be a JSON object."))
    order_no = data.get("order_no")
    if not isinstance(order_no, str) or not ORDER_NO_RE.match(order_no):
        raise Refused(
            400,
            "bad_request",
            _("order_no must be 1-40 letters, digits, - or _."),
            "order_no",
        )
    sku = data.get("sku")
    if not isinstance(sku, str) or not 1 <= len(sku) <= 64:
        raise Refused(
            400, "bad_request", _("sku must be a string of 1-64 characters."), "sku"
        )
    quantity = data.get("quantity")
    if (
        not isinstance(quantity, int)
        or isinstance(quantity, bool)
        or not 1 <= quantity <= MAX_QUANTITY
    ):
        raise Refused(
            400,
            "bad_request",
            _("quantity must be a whole number from 1 to %(max)s.")
            % {"max": MAX_QUANTITY},
            "quantity",
        )
    account = data.get("account", {})
    if (
        not isinstance(account, dict)
        or len(account) > MAX_ACCOUNT_FIELDS
        or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 32 and len(v) <= 64
            for k, v in account.items()
        )
    ):
        raise Refused(
            400,
            "bad_request",
            _("account must be an object of at most 10 short text fields."),
            "account",
        )
    callback_url = data.get("callback_url") or ""
    if not isinstance(callback_url, str) or (
        callback_url
        and (
            len(callback_url) > 300
            or not callback_url.startswith(("http://", "https://"))
        )
    ):
        raise Refused(
            400,
            "bad_request",
            _("callback_url must be an http(s) URL of at most 300 characters."),
            "callback_url",
        )
    return {
        "order_no": order_no,
        "sku": sku,
        "quantity": quantity,
        "account": account,
        "callback_url": callback_url,
    }


def _misbehave(request, profile, key, merchant, answer: dict, status=200):
    """Latency, then maybe a hang (the caller times out) or garbage."""
    if profile.latency_ms:
        time.sleep(profile.latency_ms / 1000)
    if engine.roll(profile.timeout_rate):
        time.sleep(profile.hang_seconds)
    if engine.roll(profile.garbage_rate):
        return HttpResponse(GARBAGE, status=200, content_type="text/html")
    return _signed_json(request, key, merchant, answer, status=status)


@csrf_exempt
@require_POST
def submit_order(request):
    body = request.body[: MAX_BODY_BYTES + 1]
    try:
        merchant, key = _authenticate(request, body)
    except Refused as exc:
        return _unsigned_error(exc)
    if len(body) > MAX_BODY_BYTES:
        return _signed_json(
            request,
            key,
            merchant,
            {"error": "bad_request", "message": _("The body is too large.")},
            status=413,
        )
    try:
        fields = _parse_submit(body)
    except Refused as exc:
        return _signed_json(
            request,
            key,
            merchant,
            {"error": exc.error, "message": exc.message, "field": exc.field},
            status=exc.status,
        )
    profile = engine.profile_for(merchant)
    order, created, pending = engine.place_order(
        merchant_id=merchant, profile=profile, fields=fields
    )
    if not created and (
        order.supplier_sku != fields["sku"] or order.quantity != fields["quantity"]
    ):
        return _signed_json(
            request,
            key,
            merchant,
            {
                "error": "order_no_conflict",
                "message": _("This order_no was used for a different order."),
                "field": "order_no",
            },
            status=409,
        )
    if pending is not None:
        schedule_sandbox_callback(
            order_id=order.pk,
            final_status=pending,
            delay_seconds=profile.callback_delay_ms / 1000,
            copies=1 + profile.duplicate_callbacks,
        )
    return _misbehave(request, profile, key, merchant, engine.order_state(order))


@csrf_exempt
@require_GET
def query_order(request, order_no: str):
    try:
        merchant, key = _authenticate(request, b"")
    except Refused as exc:
        return _unsigned_error(exc)
    profile = engine.profile_for(merchant)
    # A number the submit would refuse (a NUL byte, say) names no order.
    order = (
        SandboxOrder.objects.filter(merchant_id=merchant, order_no=order_no).first()
        if ORDER_NO_RE.match(order_no)
        else None
    )
    if order is None:
        return _misbehave(
            request,
            profile,
            key,
            merchant,
            {"error": "not_found", "message": _("No such order.")},
            status=404,
        )
    return _misbehave(request, profile, key, merchant, engine.order_state(order))
