"""Reads for finance: gateway money and orders the sweepers could not settle."""

from __future__ import annotations

from django.db.models import QuerySet

from orders.models import Order, Payment, PaymentAttempt

REVIEW_OUTCOMES = (Payment.Outcome.AMOUNT_MISMATCH, Payment.Outcome.FOR_FINANCE)


def payments_for_finance() -> QuerySet[Payment]:
    """Payments the shop took but could not apply to an order by itself (amount
    mismatch, guest paid for a sold-out or closed order), newest first."""
    return (
        Payment.objects.filter(outcome__in=REVIEW_OUTCOMES)
        .select_related("order__buyer", "order__sku__product")
        .order_by("-id")
    )


def unsettled_gateway_orders() -> QuerySet[PaymentAttempt]:
    """Orders sent to a gateway that the gateway could not answer about
    ("unknown") and that no payment settled: pending, or cancelled by the timeout."""
    return (
        PaymentAttempt.objects.filter(
            check_result=PaymentAttempt.Check.UNKNOWN,
            order__status__in=[Order.Status.PENDING_PAYMENT, Order.Status.CANCELLED],
            order__payments__isnull=True,
        )
        .select_related("order__buyer", "order__sku__product")
        .order_by("-id")
    )
