"""Money back to the buyer: refunds to the wallet; a guest's through the
gateway they paid at. Builds on orders.risk and orders.transitions.

Every refund is a RefundRequest row. Staff ask through `request_refund` with a
key made when the form was shown, so a second click or a retry of the same form
finds the first row instead of paying again. Above
settings.REFUND_APPROVAL_THRESHOLD the row waits until a second person approves
it (`approve_refund`); until then its amount is held back from what is left to
refund. The system's own refunds (a failed top-up) go through `refund_to_wallet`.

A guest order's refund is decided here like any other (order state, codes,
approval), then waits in AT_GATEWAY: `gateway_refund_due` is sent after commit
and orders.payments.refunding asks the gateway (DONE → REFUNDED; a gateway
without a refund API → BY_HAND, on finance's list until `confirm_refund_by_hand`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import CardCode
from kameng import audit, events
from orders.exceptions import RefundRefused
from orders.models import ZERO, Order, Payment, RefundRequest
from orders.risk import recount_buyer
from orders.transitions import ALLOWED, send_after_commit, transition_order
from users.models import LedgerEntry
from users.services import credit_wallet

S = Order.Status
REFUND_PERMISSION = "orders.refund_order"
APPROVE_PERMISSION = "orders.approve_refundrequest"


# Sent after commit when a guest's refund should go to its gateway (kwargs:
# refund_id). orders.signals queues the gateway call: refunds sits below payments.
gateway_refund_due = Signal()
GATEWAY_STATES = (RefundRequest.Status.AT_GATEWAY, RefundRequest.Status.BY_HAND)


def gateway_payment(order: Order) -> Payment | None:
    """The gateway payment that paid this order (what a guest refund goes back
    through), or None."""
    return (
        Payment.objects.filter(order=order, outcome=Payment.Outcome.SETTLED)
        .order_by("id")
        .first()
    )


def approval_threshold() -> Decimal:
    """Refunds above this amount wait for a second person's approval."""
    return Decimal(settings.REFUND_APPROVAL_THRESHOLD)


def pending_amount(order: Order) -> Decimal:
    """What refunds waiting for approval hold back on this order."""
    total = RefundRequest.objects.filter(
        order=order, status=RefundRequest.Status.PENDING
    ).aggregate(total=Sum("amount"))["total"]
    return total or ZERO


def refundable_left(order: Order) -> Decimal:
    """What may still be refunded: paid, minus refunded, minus pending refunds."""
    return order.amount - order.refunded_amount - pending_amount(order)


def delivered_code_ids(order: Order) -> list[int]:
    return list(order.delivery.get("code_ids", []))


@dataclass(frozen=True)
class RefundPlan:
    """What a refund will do, shown to staff before they confirm it."""

    amount: Decimal
    left_after: Decimal
    to_status: str
    needs_approval: bool
    code_count: int
    void_codes: bool
    to_gateway: bool = False

    @property
    def to_status_label(self) -> str:
        return S(self.to_status).label


def _target_status(order: Order, refunded_after: Decimal) -> str:
    return S.REFUNDED if refunded_after == order.amount else S.PARTIALLY_REFUNDED


def _refuse_unless_allowed(order: Order, to: str) -> None:
    if order.status != to and to not in ALLOWED[order.status]:
        raise RefundRefused(
            _("Order %(no)s cannot be refunded while it is %(status)s.")
            % {"no": order.order_no, "status": S(order.status).label}
        )


def plan_refund(
    *, order: Order, amount: Decimal, void_codes: bool = False
) -> RefundPlan:
    """Check a refund of `amount` and say what it will do, or raise RefundRefused.
    Pending refunds count as already given back. A guest's goes back through
    the gateway that took the payment."""
    if order.buyer_id is None and gateway_payment(order) is None:
        raise RefundRefused(
            _("This guest order has no gateway payment to give the money back to.")
        )
    left = refundable_left(order)
    if amount <= 0 or amount > left:
        raise RefundRefused(
            _("Refund must be more than 0 and at most %(left)s.") % {"left": left}
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise RefundRefused(_("A refund is in yuan and fen: at most two decimals."))
    code_ids = delivered_code_ids(order)
    if void_codes and not code_ids:
        raise RefundRefused(_("This order has no delivered card codes to void."))
    to = _target_status(order, order.refunded_amount + pending_amount(order) + amount)
    _refuse_unless_allowed(order, to)
    return RefundPlan(
        amount=amount,
        left_after=left - amount,
        to_status=to,
        needs_approval=amount > approval_threshold(),
        code_count=len(code_ids),
        void_codes=void_codes,
        to_gateway=order.buyer_id is None,
    )


def _locked(order: Order) -> Order:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("buyer")
        .get(pk=order.pk)
    )


def _pay(*, order: Order, refund: RefundRequest, actor) -> RefundRequest:
    """Move the money for `refund` (order locked by the caller), once: to the
    buyer's wallet, or a guest's to the gateway (after commit).

    The wallet is credited last: a purchase takes what marketing gives back
    here (the buyer's flash-sale counter and the sale, coupons, points) before
    it debits the wallet, and a refund in the other order deadlocks with the
    same buyer's purchase in flight."""
    order.refunded_amount += refund.amount
    to = _target_status(order, order.refunded_amount)
    if order.status != to:
        transition_order(  # a full refund gives marketing's benefits back
            order=order,
            to=to,
            actor=actor,
            reason=refund.reason,
            also=("refunded_amount",),
        )
    else:
        order.save(update_fields=["refunded_amount", "updated_at"])
    if order.buyer_id is not None:
        credit_wallet(
            user=order.buyer,
            amount=refund.amount,
            kind=LedgerEntry.Kind.REFUND,
            reference=order.order_no,
            note=refund.reason[:255],
            actor=actor,
        )
    if refund.void_codes:
        CardCode.objects.filter(
            pk__in=delivered_code_ids(order), status=CardCode.Status.SOLD
        ).update(status=CardCode.Status.VOID, sold_at=None)  # void has no sale
    if order.buyer_id is None:
        refund.status = RefundRequest.Status.AT_GATEWAY
        send_after_commit(gateway_refund_due, refund_id=refund.pk)
    else:
        refund.status = RefundRequest.Status.REFUNDED
    refund.save(update_fields=["status", "decided_by", "decided_at"])
    if order.delivered_at is not None:  # after-sales: counts towards a risk flag
        recount_buyer(buyer_id=order.buyer_id)
    send_after_commit(
        events.order_refunded,
        order_id=order.pk,
        amount=refund.amount,
        buyer_id=order.buyer_id,
    )
    return refund


@transaction.atomic
def request_refund(
    *,
    order: Order,
    amount: Decimal,
    reason: str,
    actor,
    key: uuid.UUID,
    void_codes: bool = False,
) -> RefundRequest:
    """A staff member refunds `amount` of `order` to the buyer's wallet, for
    `reason`. The same `key` again returns the first request and pays nothing.
    Above the approval threshold the request waits for a second person."""
    if not actor.has_perm(REFUND_PERMISSION):
        raise RefundRefused(_("Only finance may refund orders."))
    reason = reason.strip()
    if not reason:
        raise RefundRefused(_("A refund needs a reason."))
    order = _locked(order)  # a second click waits here for the first
    existing = RefundRequest.objects.filter(key=key).first()
    if existing is not None:
        if existing.order_id != order.pk:
            raise RefundRefused(_("This refund form belongs to another order."))
        return existing
    plan = plan_refund(order=order, amount=amount, void_codes=void_codes)
    before = audit.snapshot(order, AUDITED_FIELDS)
    refund = RefundRequest.objects.create(
        order=order,
        key=key,
        amount=amount,
        reason=reason,
        void_codes=void_codes,
        requested_by=actor,
    )
    if not plan.needs_approval:
        refund = _pay(order=order, refund=refund, actor=actor)
    record_refund(
        refund, order=order, actor=actor, action="order.refund_request", before=before
    )
    return refund


# What a refund's audit row shows of its order, before and after.
AUDITED_FIELDS = ("status", "refunded_amount")


def record_refund(refund, *, order: Order, actor, action: str, before: dict) -> None:
    after = audit.snapshot(order, AUDITED_FIELDS)
    old, new = audit.changed_fields(before, after)
    audit.record(
        actor=actor,
        action=action,
        obj=order,
        before=old,
        after={**new, "refund": refund.amount},
        note=refund.reason,
    )


def _locked_request(refund: RefundRequest) -> tuple[Order, RefundRequest]:
    order = _locked(refund.order)
    return order, RefundRequest.objects.select_for_update().get(pk=refund.pk)


@transaction.atomic
def approve_refund(*, refund: RefundRequest, actor) -> RefundRequest:
    """A second person approves a pending refund: the money moves now. Approving
    one already paid does nothing."""
    if not actor.has_perm(APPROVE_PERMISSION):
        raise RefundRefused(_("Only finance may approve refunds."))
    order, refund = _locked_request(refund)
    if refund.status == RefundRequest.Status.REFUNDED:
        return refund
    if refund.status != RefundRequest.Status.PENDING:
        raise RefundRefused(_("This refund was rejected; it cannot be approved."))
    if refund.requested_by_id == actor.pk:
        raise RefundRefused(
            _("You asked for this refund: someone else must approve it.")
        )
    left = order.amount - order.refunded_amount
    if refund.amount > left:
        raise RefundRefused(
            _("Refund must be more than 0 and at most %(left)s.") % {"left": left}
        )
    _refuse_unless_allowed(
        order, _target_status(order, order.refunded_amount + refund.amount)
    )
    refund.decided_by = actor
    refund.decided_at = timezone.now()
    before = audit.snapshot(order, AUDITED_FIELDS)
    refund = _pay(order=order, refund=refund, actor=actor)
    record_refund(
        refund, order=order, actor=actor, action="order.refund_approve", before=before
    )
    return refund


@transaction.atomic
def reject_refund(*, refund: RefundRequest, actor, note: str) -> RefundRequest:
    """Turn a pending refund down, saying why; no money moves."""
    if not actor.has_perm(APPROVE_PERMISSION):
        raise RefundRefused(_("Only finance may approve refunds."))
    note = note.strip()
    if not note:
        raise RefundRefused(_("Say why the refund is rejected."))
    _order, refund = _locked_request(refund)
    if refund.status != RefundRequest.Status.PENDING:
        raise RefundRefused(_("This refund is no longer waiting for approval."))
    if refund.requested_by_id == actor.pk:
        raise RefundRefused(
            _("You asked for this refund: someone else must approve it.")
        )
    refund.status = RefundRequest.Status.REJECTED
    refund.decided_by = actor
    refund.decided_at = timezone.now()
    refund.decision_note = note[:300]
    refund.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        actor=actor,
        action="order.refund_reject",
        obj=refund.order,
        after={"refund": refund.amount},
        note=refund.decision_note,
    )
    return refund


@transaction.atomic
def refund_to_wallet(
    *, order: Order, actor=None, amount: Decimal | None = None, reason: str
) -> Order:
    """The system gives money back to the buyer's wallet (a failed top-up, a
    payment for a cancelled order): at most what is left, all of it by default.
    The order row is locked, so two refunds racing each other pay out once."""
    order = _locked(order)
    if order.buyer_id is None:
        raise RefundRefused(_("Guest orders are refunded through the gateway."))
    left = refundable_left(order)
    amount = left if amount is None else amount
    if amount <= 0 or amount > left:
        raise RefundRefused(
            _("Refund must be more than 0 and at most %(left)s.") % {"left": left}
        )
    refund = RefundRequest.objects.create(
        order=order, amount=amount, reason=reason[:300] or "-", requested_by=actor
    )
    _pay(order=order, refund=refund, actor=actor)
    return order


@transaction.atomic
def confirm_refund_by_hand(
    *, refund: RefundRequest, actor, reference: str
) -> RefundRequest:
    """Finance refunded a guest's payment at the gateway's own site: the refund
    is done, with finance's reference (the gateway's refund number)."""
    if not actor.has_perm(REFUND_PERMISSION):
        raise RefundRefused(_("Only finance may refund orders."))
    reference = reference.strip()
    if not reference:
        raise RefundRefused(
            _("Give the gateway's refund number or your reference."), field="reference"
        )
    refund = RefundRequest.objects.select_for_update().get(pk=refund.pk)
    if refund.status == RefundRequest.Status.REFUNDED:
        return refund
    if refund.status not in GATEWAY_STATES:
        raise RefundRefused(_("This refund is not waiting at a gateway."))
    refund.status = RefundRequest.Status.REFUNDED
    refund.gateway_refund_no = reference[:64]
    refund.decision_note = (
        _("Refunded by hand at the gateway by %(name)s") % {"name": actor}
    )[:300]
    refund.save(update_fields=["status", "gateway_refund_no", "decision_note"])
    return refund


def gateway_refunds_to_finish():
    """Guest refunds not finished at their gateway: finance's list."""
    return (
        RefundRequest.objects.filter(status__in=GATEWAY_STATES)
        .select_related("order", "requested_by")
        .order_by("-id")
    )
