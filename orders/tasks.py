"""Celery tasks of orders (top-up fulfilment, order_paid's outbox drain and its
wake-up, the nightly and sweeping jobs): thin, idempotent, each calls a
service. Payment tasks are in orders.payments.tasks."""

from __future__ import annotations

import logging
from decimal import Decimal

from celery import shared_task
from django.core.cache import cache
from django.db import transaction

from kameng import events
from orders.fulfilment import advance_fulfilment, due_fulfilments
from orders.group_buy import refund_expired_groups
from orders.paid_outbox import drain_paid_announcements
from orders.recommendations import compute_co_purchases
from orders.risk import recount_all
from orders.transitions import announce
from orders.workbench import export_in_language, sweep_order_exports

logger = logging.getLogger(__name__)


@shared_task(name="orders.advance_fulfilment", ignore_result=True, acks_late=True)
def advance_fulfilment_task(order_id: int) -> str | None:
    """One step of a top-up: submit, query, fail over (idempotent, leased)."""
    return advance_fulfilment(order_id=order_id)


@shared_task(name="orders.sweep_fulfilments", ignore_result=True)
def sweep_fulfilments_task() -> int:
    """Every 30 s: re-enqueue top-ups a lost message left behind, poll the ones
    processing at a supplier."""
    due = due_fulfilments()
    for order_id in due:
        advance_fulfilment_task.delay(order_id)
    return len(due)


@shared_task(name="orders.recount_risk_flags", ignore_result=True)
def recount_risk_flags_task() -> int:
    """Nightly: flag buyers above the after-sales limit, unflag the rest."""
    return recount_all()


@shared_task(name="orders.announce_paid", ignore_result=True)
def announce_paid_task(kwargs: dict) -> None:
    """Before the outbox, each sale queued this; kept so that messages queued
    before a deploy are still consumed. Nothing queues it any more."""
    announce(events.order_paid, {**kwargs, "amount": Decimal(kwargs["amount"])})


# Set while a drain is queued and has not started: the sales meanwhile queue
# nothing more. Its timeout matters only when a publish was lost (the beat
# sweep drains every minute anyway).
POKE_KEY = "orders:paid-drain-poke"
POKE_TIMEOUT = 60
# A queued drain starts this long after the sale that queued it, so the sales
# of that half second wait for it instead of each queueing one: without it a
# worker that keeps up deletes the key at once, and under load nearly every
# sale paid a Celery publish and the worker a task (issue 12). Growth, points
# and coupons follow a sale by that much more; correctness does not depend on
# it (the key, not the clock, says whether a drain is still to come).
GATHER_SECONDS = 0.5


def poke_paid_drain() -> None:
    """order_paid's wake-up after a sale's commit (the Deferral's wake): one
    cache round trip, and a drain queued only when none is waiting.

    No row is left behind: a failed add means the key is there, so a drain
    was queued by the poke that set it and has not yet deleted it; it deletes
    the key before it claims, so its claim runs after this sale's add, which
    ran after this sale's commit: it sees the row. A publish that fails gives
    the key back at once, so the next sale queues again (a sale that found the
    key meanwhile waits for that one or the sweep); a publish lost after it was
    made (a process killed between commit and publish, a lost message) keeps
    the key for POKE_TIMEOUT; the beat sweep drains every minute regardless."""
    if not cache.add(POKE_KEY, 1, timeout=POKE_TIMEOUT):
        return
    try:
        drain_paid_announcements_task.apply_async(countdown=GATHER_SECONDS)
    except Exception:
        cache.delete(POKE_KEY)
        raise


@shared_task(name="orders.drain_paid_announcements", ignore_result=True)
def drain_paid_announcements_task() -> int:
    """After sales (poke_paid_drain) and every minute (beat): announce
    order_paid for what the outbox holds (orders.paid_outbox)."""
    try:
        cache.delete(POKE_KEY)  # first: see poke_paid_drain
    except Exception:  # the cache is down: drain anyway, beat sweeps after
        logger.exception("could not clear %s", POKE_KEY)
    drained = drain_paid_announcements()
    if drained.more:  # stopped at its bound with more waiting: another drain
        poke_paid_drain()
    return drained.announced


def queue_fulfilment_step(*, order_id: int) -> None:
    """A top-up has a step due now (fulfilment_due, after commit): queue it."""
    advance_fulfilment_task.delay(order_id)


@shared_task(name="orders.compute_co_purchases", ignore_result=True)
def compute_co_purchases_task() -> int:
    """Nightly: rebuild "bought together" from paid orders (one SQL statement)."""
    return compute_co_purchases()


@shared_task(
    name="orders.export_orders",
    ignore_result=True,
    acks_late=True,
    soft_time_limit=1500,
    time_limit=1600,
)
def export_orders_task(export_id: int) -> None:
    """Write an order workbench export to Excel; a no-op unless still queued."""
    export_in_language(export_id=export_id)


@shared_task(name="orders.sweep_order_exports", ignore_result=True)
def sweep_order_exports_task() -> dict:
    """Hourly: remove old export files, fail exports a lost worker left behind."""
    return sweep_order_exports()


def enqueue_order_export(export_id: int) -> None:
    transaction.on_commit(lambda: export_orders_task.delay(export_id))


@shared_task(name="orders.refund_expired_groups", ignore_result=True)
def refund_expired_groups_task() -> int:
    """Every minute: fail group buys past their deadline, refund every member."""
    return refund_expired_groups()
