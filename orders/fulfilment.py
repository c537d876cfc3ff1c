"""Delivering paid orders: card codes at once, manual orders by staff, top-ups
through suppliers (outbox, retries, failover, callbacks).

deliver_on_payment() runs inside the paying transaction: card orders get their
codes there, manual orders wait in the staff queue, and a top-up gets its
Fulfilment row (start_fulfilment) and `fulfilment_due` is sent after commit
(orders.signals queues the step as a Celery task). Each step claims the row
with a lease (FOR UPDATE SKIP LOCKED, then next_attempt_at pushed ahead) and
makes the supplier call outside any transaction, with the supplier's own timeout.

Rules, in order:
- A definite answer moves on: success delivers; "processing" waits for the signed
  callback (or the sweeper's status query); a definite failure, or a supplier we
  may not call (disabled, breaker open), fails over to the next healthy offer.
- An unclear answer (timeout, garbage, bad signature) is never followed by a
  second submission blind: the next step queries that supplier first and only
  resubmits when it says it never saw the order. The supplier's idempotency key is
  our order number, so a resubmission to the same supplier cannot top up twice.
- A supplier that cannot be reached at all is retried with backoff, then dropped
  for the next offer.
- When no offer is left, the order fails, an abnormal-order ticket opens and the
  buyer's wallet is refunded (guests: the ticket asks finance to refund).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.exceptions import NotEnoughCodes
from catalog.models import Sku, SupplierOffer
from catalog.services.codes import count_sale, take_codes
from catalog.services.suppliers import call_supplier, healthy_offers
from catalog.stock import StockState, stock_state
from catalog.suppliers.base import (
    ResultStatus,
    SupplierError,
    SupplierResult,
    SupplierUnavailable,
)
from catalog.tasks.inventory import check_stock_alerts_task
from kameng import audit, events
from orders.aftersales import add_order_note, transition_ticket
from orders.exceptions import DeliveryRefused, SoldOut
from orders.group_buy import hold_for_group
from orders.models import Fulfilment, Order, Ticket, TicketMessage
from orders.refunds import refund_to_wallet
from orders.risk import hold_for_review
from orders.transitions import (
    OPEN_TICKET_STATES,
    open_abnormal_ticket,
    send_after_commit,
    transition_order,
)

logger = logging.getLogger(__name__)

S = Order.Status
State = Fulfilment.State
LEASE = timedelta(seconds=90)  # longer than any supplier timeout
POLL_AFTER = timedelta(seconds=30)
MAX_ATTEMPTS_PER_OFFER = 3
MAX_UNCLEAR_QUERIES = 8


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(5 * 2**attempts, 300))


# Sent after commit when a top-up has a step due now (kwargs: order_id). Its one
# receiver (orders.signals) queues the step as a Celery task: this module never
# imports the tasks that call it.
fulfilment_due = Signal()


def deliver_on_payment(*, order: Order, actor) -> None:
    """Inside the paying transaction, with the order locked and just paid: card
    orders are delivered here; top-ups get their outbox row (worked by Celery
    after commit); manual orders wait in the staff queue (status paid). A
    risk-flagged buyer's order is held for review instead (orders.risk); a
    group buy's order waits for its group to fill (orders.group_buy)."""
    if hold_for_review(order=order, actor=actor):
        return
    seat = hold_for_group(order=order, actor=actor)  # a group buy (orders.group_buy)
    if seat.held:
        return  # waits for its group: no code taken, nothing sent to suppliers
    for member in seat.released:  # this payment filled the group: all deliver
        deliver_on_payment(order=member, actor=actor)
    if order.sku.delivery_type == Sku.DeliveryType.CARD:
        try:
            sold = take_codes(
                sku=order.sku,
                quantity=order.quantity,
                order_ref=order.order_no,
                count=False,
            )
        except NotEnoughCodes as exc:
            raise SoldOut(
                _("Sold out: only %(available)s left.")
                % {"available": exc.extra["available"]},
                **exc.extra,
            ) from exc
        order.delivery = {"code_ids": [code.id for code in sold]}
        transition_order(
            order=order,
            to=S.DELIVERED,
            actor=actor,
            reason="card codes",
            also=("delivery",),
        )
        # Last: the SKU's stock and sales rows are locked by every buyer of it.
        stock = count_sale(sku=order.sku, quantity=order.quantity)
        check_stock_after_sale(sku=order.sku, stock=stock)
        send_after_commit(events.order_delivered, order_id=order.pk)
    elif order.sku.delivery_type == Sku.DeliveryType.TOPUP:
        start_fulfilment(order=order)


def check_stock_after_sale(*, sku: Sku, stock: int | None) -> None:
    """A sale that takes the SKU to its low-stock threshold raises the alert now,
    not at the next minute's beat run (and may pause a sold-out SKU).

    `stock` is what count_sale() left, read under the SKU's row lock, so the sale
    that empties the SKU always sees it (a value read when the order was locked
    can be dozens of concurrent sales old). The check runs after commit."""
    if stock is None:
        return
    left = stock_state(
        stock_mode=sku.stock_mode,
        stock=stock,
        low_stock_threshold=sku.low_stock_threshold,
    )
    if left == StockState.OK:
        return
    sku_id = sku.pk
    # Robust: the periodic check catches up if this message cannot be sent.
    transaction.on_commit(
        lambda: check_stock_alerts_task.delay(sku_ids=[sku_id]), robust=True
    )


def manual_delivery_refusal(order: Order) -> str | None:
    """Why staff may not hand this order over by hand, or None when they may:
    only manual-delivery orders are (card codes and top-ups have their own
    delivery; a stuck top-up is settled by resolve_stuck_topup)."""
    if order.sku.delivery_type == Sku.DeliveryType.MANUAL:
        return None
    return _(
        "Only manual-delivery orders are delivered by hand: order %(no)s "
        "is delivered by %(type)s."
    ) % {
        "no": order.order_no,
        "type": Sku.DeliveryType(order.sku.delivery_type).label,
    }


@transaction.atomic
def deliver_manually(*, order: Order, actor, note: str) -> Order:
    """Staff hand over a manual order (account details, a shipped code...).
    Only manual orders: card codes and top-ups have their own delivery, and a
    stuck top-up is settled by resolve_stuck_topup, which says what happened."""
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("sku")
        .get(pk=order.pk)
    )
    if refusal := manual_delivery_refusal(order):
        raise DeliveryRefused(refusal)
    if not note.strip():
        raise DeliveryRefused(_("Write what was delivered: the buyer reads it."))
    before = audit.snapshot(order, ("status",))
    order.delivery = {"note": note.strip()[:2000]}
    transition_order(
        order=order,
        to=S.DELIVERED,
        actor=actor,
        reason=note.strip(),
        also=("delivery",),
    )
    audit.record(
        actor=actor,
        action="order.manual_delivery",
        obj=order,
        before=before,
        after=audit.snapshot(order, ("status",)),
        note=note.strip(),
    )
    send_after_commit(events.order_delivered, order_id=order.pk)
    return order


def start_fulfilment(*, order: Order) -> Fulfilment:
    """Inside the paying transaction: the outbox row, then the step after commit."""
    job = Fulfilment.objects.create(order=order, next_attempt_at=timezone.now())
    send_after_commit(fulfilment_due, order_id=order.pk)
    return job


def _claim(order_id: int) -> Fulfilment | None:
    """Take the job for one step, or None when it is done, not due, or another
    worker holds it. The lease keeps the sweeper off it while we call out."""
    now = timezone.now()
    with transaction.atomic():
        job = (
            Fulfilment.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(
                "order__sku", "order__buyer__member_level", "offer__supplier"
            )
            .filter(
                order_id=order_id,
                state__in=[State.PENDING, State.SUBMITTED, State.PROCESSING],
                next_attempt_at__lte=now,
            )
            .first()
        )
        if job is not None:
            job.next_attempt_at = now + LEASE
            job.save(update_fields=["next_attempt_at", "updated_at"])
        return job


def _save(job: Fulfilment, **changes) -> bool:
    """Write `changes` unless the job has meanwhile finished (a callback may
    deliver while our own call is still returning): a final state never moves."""
    changed = (
        Fulfilment.objects.filter(pk=job.pk)
        .exclude(state__in=[State.SUCCEEDED, State.FAILED])
        .update(**changes, updated_at=timezone.now())
    )
    for name, value in changes.items():
        setattr(job, name, value)
    return bool(changed)


def advance_fulfilment(*, order_id: int) -> str | None:
    """One step of the job (several when failing over at once). Returns the state
    it left the job in, or None when there was nothing to do."""
    for _hop in range(20):  # each hop drops an offer; bounded all the same
        job = _claim(order_id)
        if job is None:
            return None
        outcome = _step(job)
        if outcome != "next_offer":
            return outcome
    return None


def _next_offer(job: Fulfilment) -> SupplierOffer | None:
    order = job.order
    level = getattr(order.buyer, "member_level", None) if order.buyer_id else None
    prefer_fastest = bool(level and level.prefers_fastest_supplier)
    for offer in healthy_offers(sku=order.sku, prefer_fastest=prefer_fastest):
        if offer.pk not in job.tried_offers:
            return offer
    return None


def _step(job: Fulfilment) -> str:
    order = job.order
    if job.offer_id is None:
        offer = _next_offer(job)
        if offer is None:
            _give_up(job, reason=job.last_error or _("No supplier could deliver."))
            return State.FAILED
        _save(job, offer=offer, attempts=0, state=State.PENDING)
        _mark_delivering(order)
    offer = job.offer
    unclear = job.state in (State.SUBMITTED, State.PROCESSING)
    if not unclear:
        # From here on the supplier may hold the order whatever becomes of this
        # worker (killed mid-call): whoever steps next asks before resubmitting.
        _save(job, state=State.SUBMITTED)
    try:
        result = call_supplier(
            offer=offer,
            operation="query" if unclear else "submit",
            order_no=order.order_no,
            quantity=order.quantity,
            account=order.recharge_account,
        )
    except SupplierError as exc:
        if isinstance(exc, SupplierUnavailable) and not unclear:
            # Not called (disabled, breaker open) and it never had the order.
            # One that may hold it is asked again later, never failed over.
            return _drop_offer(job, reason=str(exc.message))
        attempts = job.attempts + 1
        if exc.ambiguous or unclear:
            if attempts >= MAX_UNCLEAR_QUERIES:
                _stuck(job, reason=str(exc.message))
                return State.SUBMITTED
            _save(
                job,
                state=State.SUBMITTED,
                attempts=attempts,
                last_error=str(exc.message)[:300],
                next_attempt_at=timezone.now() + backoff(attempts),
            )
            return State.SUBMITTED
        if attempts >= MAX_ATTEMPTS_PER_OFFER:
            return _drop_offer(job, reason=str(exc.message))
        _save(
            job,
            state=State.PENDING,  # a definite refusal: the supplier has no order
            attempts=attempts,
            last_error=str(exc.message)[:300],
            next_attempt_at=timezone.now() + backoff(attempts),
        )
        return State.PENDING
    return apply_result(job=job, result=result, queried=unclear)


def apply_result(*, job: Fulfilment, result: SupplierResult, queried: bool) -> str:
    if result.status == ResultStatus.SUCCESS:
        return _complete(job, trade_no=result.trade_no)
    if result.status == ResultStatus.PROCESSING:
        if not _save(
            job,
            state=State.PROCESSING,
            trade_no=result.trade_no or job.trade_no,
            next_attempt_at=timezone.now() + POLL_AFTER,
        ):
            # Its callback arrived before this answer did and finished the job.
            return Fulfilment.objects.values_list("state", flat=True).get(pk=job.pk)
        return State.PROCESSING
    if queried and result.code == "not_found":
        # The supplier never received the order: submitting it now is safe (we
        # still hold the lease, so nobody else submits meanwhile).
        _save(job, state=State.PENDING)
        return advance_again(job)
    if result.code == "invalid_account":
        _give_up(
            job,
            reason=_("The supplier refused the recharge account: %(msg)s")
            % {"msg": result.message},
            flag=Order.Flag.INVALID_ACCOUNT,
        )
        return State.FAILED
    return _drop_offer(job, reason=result.message or result.code)


def advance_again(job: Fulfilment) -> str:
    outcome = _step(job)
    return State.PENDING if outcome == "next_offer" else outcome


def _drop_offer(job: Fulfilment, *, reason: str) -> str:
    """This offer will not deliver: on to the next one at once."""
    if not _save(
        job,
        tried_offers=[*job.tried_offers, job.offer_id],
        offer=None,
        attempts=0,
        state=State.PENDING,
        last_error=reason[:300],
        next_attempt_at=timezone.now(),
    ):
        # Finished meanwhile (a callback delivered it): report what it became.
        return Fulfilment.objects.values_list("state", flat=True).get(pk=job.pk)
    return "next_offer"


def _mark_delivering(order: Order) -> None:
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status == S.PAID:
            transition_order(order=locked, to=S.DELIVERING, reason="supplier")
            order.status = locked.status


@transaction.atomic
def _complete(job: Fulfilment, *, trade_no: str) -> str:
    """Deliver the order of a supplier's success; returns the job's final state
    (FAILED when it had been failed meanwhile: then nothing is delivered)."""
    job = (
        Fulfilment.objects.select_for_update(of=("self",))
        .select_related("offer__supplier")
        .get(pk=job.pk)
    )
    if job.state == State.SUCCEEDED:
        return job.state
    if job.state == State.FAILED:
        # Staff (or the last offer) failed it, and the buyer may be refunded
        # already: the money question is for people, not for this step.
        open_abnormal_ticket(
            order=job.order,
            flag=Order.Flag.SUPPLIER_FAILURE,
            message=_(
                "Supplier %(supplier)s reports this top-up done (trade %(trade)s) "
                "after it was failed. Check with the supplier and the buyer."
            )
            % {
                "supplier": job.offer.supplier if job.offer_id else "-",
                "trade": trade_no,
            },
        )
        return job.state
    order = Order.objects.select_for_update().get(pk=job.order_id)
    job.state, job.trade_no = State.SUCCEEDED, trade_no or job.trade_no
    job.save(update_fields=["state", "trade_no", "updated_at"])
    if order.status == S.PAID:
        transition_order(order=order, to=S.DELIVERING, reason="supplier")
    order.delivery = {
        "supplier_id": job.offer.supplier_id if job.offer_id else None,
        "trade_no": job.trade_no,
    }
    transition_order(
        order=order,
        to=S.DELIVERED,
        reason=_("Topped up by %(supplier)s") % {"supplier": job.offer.supplier}
        if job.offer_id
        else "",
        also=("delivery",),
    )
    send_after_commit(events.order_delivered, order_id=order.pk)
    return job.state


def _stuck(job: Fulfilment, *, reason: str) -> None:
    """The supplier keeps giving no clear answer: we may not resubmit or fail over
    (it may have topped up). Staff check it with the supplier, then settle it
    with resolve_stuck_topup."""
    if not _save(
        job,
        last_error=reason[:300],
        next_attempt_at=timezone.now() + timedelta(minutes=30),
    ):
        return  # settled meanwhile (a callback, or staff): nothing to flag
    open_abnormal_ticket(
        order=job.order,
        flag=Order.Flag.SUPPLIER_FAILURE,
        message=_(
            "Supplier %(supplier)s gives no clear answer for this top-up (%(reason)s). "
            "Check with the supplier before refunding or resubmitting."
        )
        % {"supplier": job.offer.supplier if job.offer_id else "-", "reason": reason},
    )


def _give_up(job: Fulfilment, *, reason: str, flag: str = "") -> None:
    with transaction.atomic():
        job = Fulfilment.objects.select_for_update().get(pk=job.pk)
        if job.state in (State.FAILED, State.SUCCEEDED):
            return
        order = Order.objects.select_for_update().get(pk=job.order_id)
        ticket_text = _("No supplier could deliver: %(reason)s") % {"reason": reason}
        _fail_and_refund(
            job,
            order,
            reason=reason,
            ticket_text=ticket_text,
            flag=flag or Order.Flag.SUPPLIER_FAILURE,
        )


def _fail_and_refund(
    job: Fulfilment,
    order: Order,
    *,
    reason: str,
    ticket_text: str,
    flag: str,
    actor=None,
) -> None:
    """Fail a locked job and its locked order; refund the buyer's wallet (a
    guest's payment goes back through the gateway: the ticket asks finance)."""
    job.state, job.last_error = State.FAILED, reason[:300]
    job.save(update_fields=["state", "last_error", "updated_at"])
    transition_order(order=order, to=S.FAILED, actor=actor, reason=reason)
    if order.payment_method == Order.PaymentMethod.VOUCHER:  # nothing was paid
        ticket_text += " " + _("Paid by a voucher: the voucher can be used again.")
    elif order.buyer_id:
        refund_to_wallet(order=order, actor=actor, reason=_("Top-up failed"))
        ticket_text += " " + _("Refunded to the wallet.")
    else:
        ticket_text += " " + _("Guest order: refund through the payment channel.")
    open_abnormal_ticket(order=order, flag=flag, message=ticket_text)
    send_after_commit(events.order_failed, order_id=order.pk, reason=reason)


@transaction.atomic
def resolve_stuck_topup(*, order: Order, actor, credited: bool, reason: str) -> Order:
    """Staff settle a top-up the suppliers could not settle (no clear answer,
    or a fulfilment that keeps failing) after checking with the supplier:

    - credited=True: the supplier confirms the account was credited (perhaps out
      of band): the job succeeds and the order is delivered;
    - credited=False: the supplier confirms nothing was credited: the job and
      the order fail and the buyer is refunded as when no offer is left.

    Either way the order's timeline names the staff member and their reason,
    the abnormal-order ticket gets the same words and is marked resolved, and
    no further supplier call is made for it (a final job is never stepped)."""
    reason = reason.strip()
    if not reason:
        raise DeliveryRefused(
            _("Write what you confirmed with the supplier: it goes into the timeline.")
        )
    job = (
        Fulfilment.objects.select_for_update(of=("self",))
        .select_related("offer__supplier")
        .filter(
            order_id=order.pk,
            state__in=[State.PENDING, State.SUBMITTED, State.PROCESSING],
        )
        .first()
    )
    if job is None:
        raise DeliveryRefused(
            _("Order %(no)s has no top-up waiting at a supplier.")
            % {"no": order.order_no}
        )
    order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    before = audit.snapshot(order, ("status", "refunded_amount"))
    if credited:
        why = _("Confirmed credited with the supplier: %(reason)s") % {"reason": reason}
        job.state = State.SUCCEEDED
        job.save(update_fields=["state", "updated_at"])
        if order.status == S.PAID:
            transition_order(order=order, to=S.DELIVERING, actor=actor, reason=why)
        order.delivery = {
            "supplier_id": job.offer.supplier_id if job.offer_id else None,
            "trade_no": job.trade_no,
        }
        transition_order(
            order=order, to=S.DELIVERED, actor=actor, reason=why, also=("delivery",)
        )
        send_after_commit(events.order_delivered, order_id=order.pk)
    else:
        why = _("Confirmed not credited with the supplier: %(reason)s") % {
            "reason": reason
        }
        _fail_and_refund(
            job,
            order,
            reason=why,
            ticket_text=why,
            flag=Order.Flag.SUPPLIER_FAILURE,
            actor=actor,
        )
    if credited or order.buyer_id:
        # Nothing left to do. A guest's ticket stays open: finance refunds
        # the payment through the gateway.
        _resolve_tickets(order=order, actor=actor, message=why)
    order.refresh_from_db()  # a refund moved it on
    old, new = audit.changed_fields(
        before, audit.snapshot(order, ("status", "refunded_amount"))
    )
    audit.record(
        actor=actor,
        action="order.resolve_topup",
        obj=order,
        before=old,
        after=new,
        note=why,
    )
    return order


def _resolve_tickets(*, order: Order, actor, message: str) -> None:
    """Mark the order's open abnormal-order tickets resolved, saying how."""
    for ticket in Ticket.objects.select_for_update().filter(
        order=order, kind=Ticket.Kind.ABNORMAL, status__in=OPEN_TICKET_STATES
    ):
        TicketMessage.objects.create(ticket=ticket, author=actor, body=message[:5000])
        transition_ticket(ticket=ticket, to=Ticket.Status.RESOLVED, actor=actor)


def apply_callback(
    *, supplier_id: int, order_no: str, status: str, trade_no: str, **_kw
):
    """A verified supplier callback: idempotent, however often it arrives."""
    with transaction.atomic():
        # Locked, so a callback and a running step never both move the job.
        job = (
            Fulfilment.objects.select_for_update(of=("self",))
            .select_related("offer__supplier", "order")
            .filter(order__order_no=order_no)
            .first()
        )
        if job is None or job.state in (State.SUCCEEDED, State.FAILED):
            return
        if job.offer_id is None or job.offer.supplier_id != supplier_id:
            logger.warning(
                "callback for %s from supplier %s, which is not the current one",
                order_no,
                supplier_id,
            )
            return
        if status == ResultStatus.SUCCESS:
            _complete(job, trade_no=trade_no)
        elif status == ResultStatus.FAILED:
            _drop_offer(job, reason=_("The supplier reported a failure."))
            send_after_commit(fulfilment_due, order_id=job.order_id)
        elif job.state != State.PROCESSING:
            _save(job, state=State.PROCESSING, trade_no=trade_no or job.trade_no)


def due_fulfilments(*, limit: int = 500) -> list[int]:
    """Order ids whose job is due: lost messages, processing orders to poll."""
    return list(
        Fulfilment.objects.filter(
            state__in=[State.PENDING, State.SUBMITTED, State.PROCESSING],
            next_attempt_at__lte=timezone.now(),
        )
        .order_by("next_attempt_at")
        .values_list("order_id", flat=True)[:limit]
    )


# Staff actions from the order workbench ---------------------------------------
# Retry a top-up, or switch it to another supplier, each with a reason that
# goes into the order's timeline (or, when the status does not change, an
# internal note). A job a worker may be calling a supplier for right now (touched
# within LEASE) is left alone: its answer decides first.

ACTIVE_STATES = (State.PENDING, State.SUBMITTED, State.PROCESSING)


def _topup_job(order: Order) -> Fulfilment | None:
    return (
        Fulfilment.objects.select_related("offer__supplier")
        .filter(order_id=order.pk)
        .first()
    )


def _job_refusal(order: Order, job: Fulfilment | None) -> str | None:
    """Why staff may not restart this top-up now (None: they may)."""
    if order.sku.delivery_type != Sku.DeliveryType.TOPUP or job is None:
        return _("Order %(no)s has no top-up at a supplier.") % {"no": order.order_no}
    if job.state == State.SUCCEEDED:
        return _("Order %(no)s is already topped up.") % {"no": order.order_no}
    if job.state in ACTIVE_STATES and job.updated_at > timezone.now() - LEASE:
        return _(
            "A supplier call for order %(no)s may be under way: try again after "
            "%(time)s."
        ) % {
            "no": order.order_no,
            "time": timezone.localtime(job.updated_at + LEASE).strftime("%H:%M:%S"),
        }
    if job.state == State.FAILED and (
        order.status != S.FAILED or order.refunded_amount or order.refunds.exists()
    ):
        return _(
            "Order %(no)s failed and its money is being or has been returned: "
            "it cannot be delivered again."
        ) % {"no": order.order_no}
    return None


@dataclass(frozen=True)
class TopUpPlan:
    """What a retry or a supplier switch will do, shown before staff confirm."""

    job: Fulfilment
    steps: tuple[str, ...]


def plan_retry(*, order: Order) -> TopUpPlan:
    """Check a retry of the order's top-up and say what it will do, or raise
    DeliveryRefused."""
    job = _topup_job(order)
    if refusal := _job_refusal(order, job):
        raise DeliveryRefused(refusal)
    if job.state == State.FAILED:
        steps = (
            _("The order goes from failed back to delivering."),
            _("Suppliers are tried again from the best healthy offer."),
        )
    elif job.state == State.PENDING:
        steps = (_("The top-up is sent to the supplier now, without waiting."),)
    else:
        steps = (
            _(
                "The supplier is asked about the top-up now; it is only sent again "
                "if the supplier never received it."
            ),
        )
    return TopUpPlan(job=job, steps=steps)


def switch_offers(*, order: Order) -> list[SupplierOffer]:
    """Offers a top-up may be switched to: the SKU's enabled offers of enabled
    suppliers, other than the one it is on."""
    job = _topup_job(order)
    offers = SupplierOffer.objects.filter(
        sku_id=order.sku_id, enabled=True, supplier__enabled=True
    ).select_related("supplier")
    if job is not None and job.offer_id:
        offers = offers.exclude(pk=job.offer_id)
    return list(offers.order_by("priority", "id"))


def plan_switch(*, order: Order, offer: SupplierOffer) -> TopUpPlan:
    """Check a switch of the order's top-up to `offer` and say what it will do,
    or raise DeliveryRefused. A top-up with no clear answer yet may already be
    done at its supplier: it is never sent to another one."""
    job = _topup_job(order)
    if refusal := _job_refusal(order, job):
        raise DeliveryRefused(refusal)
    if job.state in (State.SUBMITTED, State.PROCESSING):
        raise DeliveryRefused(
            _(
                "%(supplier)s may still top up order %(no)s (no clear answer yet): "
                "settle it with that supplier first."
            )
            % {
                "supplier": job.offer.supplier.name if job.offer_id else "-",
                "no": order.order_no,
            }
        )
    if offer.sku_id != order.sku_id or not (offer.enabled and offer.supplier.enabled):
        raise DeliveryRefused(_("Choose an enabled offer of this order's item."))
    if offer.pk == job.offer_id:
        raise DeliveryRefused(_("The top-up is already on this supplier."))
    steps = [
        _("The top-up is sent to %(supplier)s now.") % {"supplier": offer.supplier.name}
    ]
    if job.state == State.FAILED:
        steps.insert(0, _("The order goes from failed back to delivering."))
    steps.append(_("If it fails there, the remaining suppliers are tried as usual."))
    return TopUpPlan(job=job, steps=tuple(steps))


def _restart(
    *, order: Order, job: Fulfilment, actor, action: str, why: str, **changes
) -> None:
    """Put a locked, refusal-checked job back to work now, recording why (the
    timeline or an internal note, and the audit log)."""
    was_failed = job.state == State.FAILED
    before = {"status": order.status, "supplier": supplier_name(job)}
    for name, value in changes.items():
        setattr(job, name, value)
    job.next_attempt_at = timezone.now()
    if was_failed:
        job.state, job.attempts, job.last_error = State.PENDING, 0, ""
    job.save()
    if was_failed:
        transition_order(order=order, to=S.DELIVERING, actor=actor, reason=why)
    else:
        add_order_note(order=order, author=actor, body=why, visible_to_buyer=False)
    audit.record(
        actor=actor,
        action=action,
        obj=order,
        before=before,
        after={"status": order.status, "supplier": supplier_name(job)},
        note=why,
    )
    send_after_commit(fulfilment_due, order_id=order.pk)


def supplier_name(job: Fulfilment) -> str:
    return job.offer.supplier.name if job.offer_id else ""


def _locked_job(order: Order) -> tuple[Order, Fulfilment | None]:
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("sku")
        .get(pk=order.pk)
    )
    job = (
        Fulfilment.objects.select_for_update(of=("self",))
        .select_related("offer__supplier")
        .filter(order_id=order.pk)
        .first()
    )
    return order, job


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise DeliveryRefused(_("Give a reason: it is kept with the order."))
    return reason


@transaction.atomic
def retry_fulfilment(*, order: Order, actor, reason: str) -> Fulfilment:
    """Staff retry a top-up now: a waiting step runs at once (a job with an
    unclear answer asks its supplier first), a failed one that nobody refunded
    starts again from the best offer."""
    reason = _reason(reason)
    order, job = _locked_job(order)
    if refusal := _job_refusal(order, job):
        raise DeliveryRefused(refusal)
    why = _("Fulfilment retried by staff: %(reason)s") % {"reason": reason}
    if job.state == State.FAILED:
        _restart(
            order=order,
            job=job,
            actor=actor,
            action="order.retry_fulfilment",
            why=why,
            offer=None,
            tried_offers=[],
        )
    else:
        _restart(
            order=order, job=job, actor=actor, action="order.retry_fulfilment", why=why
        )
    return job


@transaction.atomic
def switch_supplier(
    *, order: Order, offer: SupplierOffer, actor, reason: str
) -> Fulfilment:
    """Staff move a top-up that is waiting (or failed, unrefunded) to another
    supplier's offer and send it there now."""
    reason = _reason(reason)
    order, job = _locked_job(order)
    offer = SupplierOffer.objects.select_related("supplier").get(pk=offer.pk)
    plan_switch(order=order, offer=offer)  # the same checks, on the locked rows
    why = _("Switched to supplier %(supplier)s by staff: %(reason)s") % {
        "supplier": offer.supplier.name,
        "reason": reason,
    }
    tried = [pk for pk in job.tried_offers if pk != offer.pk]
    if job.offer_id and job.offer_id not in tried:
        tried.append(job.offer_id)
    _restart(
        order=order,
        job=job,
        actor=actor,
        action="order.switch_supplier",
        why=why,
        offer=offer,
        tried_offers=tried,
        attempts=0,
        state=State.PENDING,
    )
    return job
