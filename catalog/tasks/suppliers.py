"""Celery tasks: catalog suppliers."""

from celery import shared_task
from django.db import transaction

from catalog.sandbox.engine import complete_and_call_back


@shared_task(name="catalog.sandbox_callback", acks_late=True)
def sandbox_callback(order_id: int, final_status: str, copies: int = 1) -> int:
    """The sandbox supplier completes a 'processing' order and calls back."""
    return complete_and_call_back(
        order_id=order_id, final_status=final_status, copies=copies
    )


def schedule_sandbox_callback(
    *, order_id: int, final_status: str, delay_seconds: float, copies: int
) -> None:
    """Complete a sandbox order that answered 'processing' later, and call back
    `copies` times: queued after commit with a countdown of `delay_seconds`, for a
    worker (the full stack's, or the embedded default's). Under eager Celery (the
    tests) it runs at once, in the process that queued it."""
    transaction.on_commit(
        lambda: sandbox_callback.apply_async(
            kwargs={
                "order_id": order_id,
                "final_status": final_status,
                "copies": copies,
            },
            countdown=delay_seconds,
        )
    )
