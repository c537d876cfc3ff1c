"""Celery tasks of top-up fulfilment: thin, idempotent, each calls a service.
Payment tasks are in orders.payments.tasks."""

from __future__ import annotations

from decimal import Decimal

from celery import shared_task
from django.db import transaction

from kameng import events
from orders.fulfilment import advance_fulfilment, due_fulfilments
from orders.group_buy import refund_expired_groups
from orders.recommendations import compute_co_purchases
from orders.risk import recount_all
from orders.transitions import announce
from orders.workbench import export_in_language, sweep_order_exports


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
    """After a sale, in the worker: kameng.events.order_paid to the other apps
    (growth, category counts, first-order coupon, referral, points)."""
    announce(events.order_paid, {**kwargs, "amount": Decimal(kwargs["amount"])})


def queue_paid_announcement(signal, kwargs: dict) -> None:
    """orders.transitions.DEFERRED's deferrer for order_paid (after commit)."""
    announce_paid_task.delay({**kwargs, "amount": str(kwargs["amount"])})


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
