"""Celery tasks of top-up fulfilment: thin, idempotent, each calls a service.
Payment tasks are in orders.payments.tasks."""

from __future__ import annotations

from celery import shared_task

from orders.fulfilment import advance_fulfilment, due_fulfilments


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


def queue_fulfilment_step(*, order_id: int) -> None:
    """A top-up has a step due now (fulfilment_due, after commit): queue it."""
    advance_fulfilment_task.delay(order_id)
