"""Wallet top-ups paid through a payment gateway (钱包充值).

Rules:
- A buyer (never a guest) asks for an amount between 1.00 and WALLET_TOPUP_MAX
  and a channel; a WalletTopUp is written (number "W…", never an order number)
  and the buyer is sent to the gateway exactly like an order payment.
- The gateway's notify carries the top-up number where an order number would
  be; orders.payments.services.settle_payment routes it here by the prefix.
  This module never imports orders.payments.services: what both need is in
  orders.payments.settling.
- A payment is recorded once per (channel, trade number), with the top-up row
  locked, in the same transaction that credits the wallet (ledger kind
  `topup`, reference = the top-up number) and marks the top-up paid: replayed
  or racing notifies (and the sweeper) credit once.
- The top-up bonus (marketing.topup_bonus, "充 100 送 5") is credited in the
  same transaction, once per top-up (ledger kind `bonus`).
- The amount must equal the top-up's, else the payment is recorded as
  `amount_mismatch`, nothing is credited, and finance sees it on the finance
  page (the top-up stays pending, and is cancelled by the timeout if nothing
  else comes).
- Money for a cancelled top-up (a late notify) is credited anyway: it is the
  buyer's, and nothing else depends on the top-up. A second trade for a top-up
  already paid is credited too (the buyer paid twice; the money is theirs).
- Unpaid top-ups are cancelled after ORDER_PAYMENT_TIMEOUT_MINUTES (the gateway
  is asked once more first), and pending ones are asked about after
  PAYMENT_QUERY_AFTER_MINUTES, like orders.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kameng.exceptions import DomainError
from marketing.topup_bonus import grant_topup_bonus
from orders.models import Payment, WalletTopUp, new_order_no
from orders.payments.base import Notice, NotifyRejected
from orders.payments.registry import get_gateway
from orders.payments.settling import (
    notify_url,
    query_gateway,
    record_check,
    recorded_payment,
    settle_answer,
    topup_return_url,
)
from users.models import LedgerEntry
from users.services import credit_wallet

logger = logging.getLogger(__name__)
T = WalletTopUp.Status
TOPUP_MIN = Decimal("1.00")
MAX_PENDING_PER_BUYER = 5  # unpaid top-ups a buyer may have open at once


class TopUpRefused(DomainError):
    code = "wallet_topup_refused"


def is_topup_number(number: str) -> bool:
    return number.startswith(WalletTopUp.TOPUP_PREFIX)


def topup_max() -> Decimal:
    return Decimal(str(settings.WALLET_TOPUP_MAX))


def new_topup_no(at=None) -> str:
    """An order number's shape behind the top-up prefix: never mistaken for one."""
    return WalletTopUp.TOPUP_PREFIX + new_order_no(at)


def _checked_amount(amount) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise TopUpRefused(_("Enter an amount."), field="amount")
    if amount.quantize(Decimal("0.01")) != amount:
        raise TopUpRefused(
            _("Use at most two decimal places (yuan and fen)."), field="amount"
        )
    if amount < TOPUP_MIN or amount > topup_max():
        raise TopUpRefused(
            _("A top-up must be between %(min)s and %(max)s.")
            % {"min": TOPUP_MIN, "max": topup_max()},
            field="amount",
        )
    return amount


def start_topup(*, buyer, amount: Decimal, channel: str) -> tuple[WalletTopUp, str]:
    """Write a pending top-up and return it with the URL to send the buyer to.
    Nothing is written when the amount, the channel or the buyer is refused."""
    amount = _checked_amount(amount)
    if buyer is None or not buyer.is_authenticated:
        raise TopUpRefused(_("Sign in to top up your wallet."))
    gateway = get_gateway(channel)  # UnknownChannel when off or unknown
    pending = WalletTopUp.objects.filter(buyer=buyer, status=T.PENDING).count()
    if pending >= MAX_PENDING_PER_BUYER:
        raise TopUpRefused(
            _(
                "You already have %(n)s unpaid top-ups. Pay one of them or wait "
                "until they expire."
            )
            % {"n": pending}
        )
    for attempt in range(3):
        try:
            with transaction.atomic():
                topup = WalletTopUp.objects.create(
                    topup_no=new_topup_no(),
                    buyer=buyer,
                    amount=amount,
                    channel=channel,
                )
            break
        except IntegrityError:  # the same random number twice: draw again
            if attempt == 2:
                raise
    url = gateway.start(
        order=topup, notify_url=notify_url(channel), return_url=topup_return_url()
    )
    return topup, url


def resume_topup(*, buyer, topup_no: str) -> str:
    """The gateway URL to pay one of the buyer's own unpaid top-ups again (the
    gateway page was closed). Someone else's, or one no longer pending, is
    refused with the same message."""
    topup = WalletTopUp.objects.filter(
        buyer_id=getattr(buyer, "pk", None), topup_no=topup_no, status=T.PENDING
    ).first()
    if topup is None:
        raise TopUpRefused(_("This top-up cannot be paid now."))
    gateway = get_gateway(topup.channel)  # UnknownChannel when switched off since
    return gateway.start(
        order=topup, notify_url=notify_url(topup.channel), return_url=topup_return_url()
    )


# Settling ---------------------------------------------------------------------------
@transaction.atomic
def settle_topup_payment(*, channel: str, notice: Notice) -> Payment:
    """Record the payment `notice` reports for a top-up and credit the wallet
    (module rules). Idempotent per (channel, trade_no)."""
    topup = (
        WalletTopUp.objects.select_for_update(of=("self",))
        .select_related("buyer")
        .filter(topup_no=notice.order_no)
        .first()
    )
    if topup is None:
        raise NotifyRejected(
            "unknown_order",
            _("Top-up %(no)s does not exist.") % {"no": notice.order_no},
        )
    existing = recorded_payment(channel=channel, notice=notice, topup_id=topup.pk)
    if existing is not None:
        return existing  # a replay or a racing duplicate: already done
    payment = Payment(
        topup=topup,
        channel=channel,
        trade_no=notice.trade_no,
        amount=notice.amount,
        raw_notify=notice.raw,
    )
    if notice.amount != topup.amount:
        payment.outcome = Payment.Outcome.AMOUNT_MISMATCH
        payment.note = _(
            "Received %(paid)s for a wallet top-up of %(due)s; nothing was "
            "credited. Refund it or credit it by hand."
        ) % {"paid": payment.amount, "due": topup.amount}
        payment.save()
        logger.warning(
            "payment: amount mismatch on top-up %s via %s trade %s (%s != %s)",
            topup.topup_no,
            channel,
            notice.trade_no,
            notice.amount,
            topup.amount,
        )
        return payment

    if topup.status == T.PENDING:
        note = ""
    elif topup.status == T.CANCELLED:
        note = _("Paid after the top-up was cancelled; credited anyway.")
    else:
        note = _("A second payment of a top-up already paid; credited too.")
    payment.outcome = Payment.Outcome.TOPPED_UP
    payment.note = note
    payment.save()
    credit_wallet(
        user=topup.buyer,
        amount=payment.amount,
        kind=LedgerEntry.Kind.TOPUP,
        reference=topup.topup_no,
        note=_("%(channel)s trade %(trade)s")
        % {"channel": channel, "trade": notice.trade_no},
    )
    if topup.status != T.PAID:
        topup.status = T.PAID
        topup.paid_at = timezone.now()
        topup.save(update_fields=["status", "paid_at", "updated_at"])
    # The top-up bonus (充值赠送), once per top-up, in this same transaction.
    grant_topup_bonus(buyer=topup.buyer, topup_no=topup.topup_no, amount=topup.amount)
    if note:
        logger.warning("payment: top-up %s: %s", topup.topup_no, note)
    return payment


# Sweepers ---------------------------------------------------------------------------
def settle_pending_topups(*, limit: int = 200) -> dict[str, int]:
    """Ask the gateway about top-ups still pending after
    PAYMENT_QUERY_AFTER_MINUTES and credit the paid ones."""
    since = timezone.now() - timedelta(minutes=settings.PAYMENT_QUERY_AFTER_MINUTES)
    topups = WalletTopUp.objects.filter(
        status=T.PENDING, created_at__lte=since
    ).order_by(F("checked_at").asc(nulls_first=True), "id")[:limit]
    counts = {"paid": 0, "unpaid": 0, "unknown": 0, "rejected": 0}
    for topup in topups:
        counts[check_topup(topup)] += 1
    return counts


def check_topup(topup: WalletTopUp) -> str:
    """Ask the gateway about one top-up, credit it if paid, remember the answer."""
    result = query_gateway(channel=topup.channel, payable=topup)
    state, note = settle_answer(
        payable=topup,
        result=result,
        settle=lambda notice: settle_topup_payment(
            channel=topup.channel, notice=notice
        ),
    )
    return record_check(WalletTopUp.objects.filter(pk=topup.pk), state, note)


def cancel_expired_topups(*, limit: int = 500) -> int:
    """Cancel top-ups left unpaid longer than ORDER_PAYMENT_TIMEOUT_MINUTES,
    asking the gateway once more first (a lost notify is credited, not lost)."""
    deadline = timezone.now() - timedelta(
        minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES
    )
    topups = list(
        WalletTopUp.objects.filter(status=T.PENDING, created_at__lt=deadline).order_by(
            "created_at"
        )[:limit]
    )
    cancelled = 0
    for topup in topups:
        check_topup(topup)
        cancelled += cancel_unpaid_topup(topup_id=topup.pk)
    return cancelled


@transaction.atomic
def cancel_unpaid_topup(*, topup_id: int) -> bool:
    """Cancel one top-up if it is still pending (the lock decides against a
    notify paying it at the same moment)."""
    topup = WalletTopUp.objects.select_for_update().filter(pk=topup_id).first()
    if topup is None or topup.status != T.PENDING:
        return False
    topup.status = T.CANCELLED
    topup.save(update_fields=["status", "updated_at"])
    return True
