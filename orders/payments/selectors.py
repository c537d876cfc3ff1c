"""Reads for finance: gateway money and orders the sweepers could not settle."""

from __future__ import annotations

from django.db.models import QuerySet

from orders.models import Order, Payment, PaymentAttempt, WalletTopUp

REVIEW_OUTCOMES = (Payment.Outcome.AMOUNT_MISMATCH, Payment.Outcome.FOR_FINANCE)


def payments_for_finance() -> QuerySet[Payment]:
    """Payments the shop took but could not apply to an order or a wallet top-up
    by itself (amount mismatch, guest paid for a sold-out or closed order),
    newest first."""
    return (
        Payment.objects.filter(outcome__in=REVIEW_OUTCOMES)
        .select_related("order__buyer", "order__sku__product", "topup__buyer")
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


def unsettled_gateway_topups() -> QuerySet[WalletTopUp]:
    """Wallet top-ups the gateway could not answer about ("unknown") and that no
    payment settled: pending, or cancelled by the timeout."""
    return (
        WalletTopUp.objects.filter(
            check_result=WalletTopUp.Check.UNKNOWN,
            status__in=[WalletTopUp.Status.PENDING, WalletTopUp.Status.CANCELLED],
            payments__isnull=True,
        )
        .select_related("buyer")
        .order_by("-id")
    )


def topups_of(*, buyer) -> QuerySet[WalletTopUp]:
    """A buyer's wallet top-ups, newest first (the wallet page shows a few)."""
    return WalletTopUp.objects.filter(buyer=buyer).order_by("-id")
