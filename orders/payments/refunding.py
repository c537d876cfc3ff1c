"""Guest refunds through the gateway that took the payment.

orders.refunds decides a guest's refund (order state, codes, approval) and
leaves it AT_GATEWAY; after commit this asks the gateway, with the refund's
own key as the refund number (a retry never refunds twice): DONE makes it
REFUNDED with the gateway's number; a gateway without a refund API (epay) makes
it BY_HAND, on finance's list (orders.refunds.confirm_refund_by_hand); a
failure leaves it AT_GATEWAY with the reason, for the next attempt or finance.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils.translation import gettext as _

from orders.models import RefundRequest
from orders.payments.base import RefundResult, UnknownChannel
from orders.payments.registry import get_gateway
from orders.refunds import gateway_payment

logger = logging.getLogger(__name__)

Status = RefundRequest.Status


@transaction.atomic
def refund_at_gateway(*, refund_id: int) -> str | None:
    """Ask the gateway to give one guest refund back; returns the refund's new
    status, or None when it was not waiting (done, or another worker has it).
    The row stays locked during the call, so two workers never both ask."""
    refund = (
        RefundRequest.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("order")
        .filter(pk=refund_id, status=Status.AT_GATEWAY)
        .first()
    )
    if refund is None:
        return None
    payment = gateway_payment(refund.order)
    try:
        gateway = get_gateway(payment.channel)
    except UnknownChannel as exc:
        result = RefundResult(RefundResult.BY_HAND, detail=exc.message)
    else:
        try:
            result = gateway.refund(
                order_no=refund.order.order_no,
                trade_no=payment.trade_no,
                refund_no=refund.key.hex,
                amount=refund.amount,
            )
        except Exception as exc:  # a broken adapter must not lose the refund
            logger.exception("refund %s: gateway call failed", refund.pk)
            result = RefundResult(RefundResult.FAILED, detail=repr(exc)[:200])
    if result.state == RefundResult.DONE:
        refund.status = Status.REFUNDED
        refund.gateway_refund_no = result.refund_no[:64]
        refund.decision_note = _("Refunded through %(channel)s") % {
            "channel": payment.channel
        }
    elif result.state == RefundResult.BY_HAND:
        refund.status = Status.BY_HAND
        refund.decision_note = result.detail[:300]
    else:
        refund.decision_note = (
            _("The gateway did not refund yet: %(detail)s") % {"detail": result.detail}
        )[:300]
    refund.save(update_fields=["status", "gateway_refund_no", "decision_note"])
    return refund.status


def refunds_waiting_at_gateways(*, limit: int = 200) -> list[int]:
    """Guest refunds still AT_GATEWAY (a lost message, a failed call)."""
    return list(
        RefundRequest.objects.filter(status=Status.AT_GATEWAY)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
