"""Our callback endpoint: suppliers report an order's outcome here (POST)."""

from __future__ import annotations

import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from catalog.models import Supplier
from catalog.services.suppliers import receive_callback
from catalog.suppliers import CallbackRejected, SupplierUnavailable

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


def _error(status: int, error: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"ok": False, "error": error, "message": message},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


@csrf_exempt
@require_POST
def supplier_callback(request, supplier_id: int):
    supplier = Supplier.objects.filter(pk=supplier_id).first()
    if supplier is None:
        return _error(404, "unknown_supplier", "Unknown supplier.")
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return _error(413, "too_large", "The body is too large.")
    try:
        data = receive_callback(
            supplier=supplier,
            method=request.method,
            path=request.path,
            headers=request.META,
            body=body,
        )
    except SupplierUnavailable as exc:
        logger.warning("callback for supplier %s refused: %s", supplier_id, exc)
        return _error(401, "no_key", "This supplier cannot be verified.")
    except CallbackRejected as exc:
        logger.warning(
            "callback for supplier %s rejected: %s (%s)",
            supplier_id,
            exc.reason,
            exc.message,
        )
        status = 400 if exc.reason == "bad_body" else 401
        return _error(status, exc.reason, str(exc.message))
    return JsonResponse({"ok": True, "order_no": data.order_no})
