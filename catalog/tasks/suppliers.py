"""Celery tasks: catalog suppliers."""

from celery import shared_task


@shared_task(name="catalog.sandbox_callback", acks_late=True)
def sandbox_callback(order_id: int, final_status: str, copies: int = 1) -> int:
    """The sandbox supplier completes a 'processing' order and calls back."""
    from catalog.sandbox.engine import complete_and_call_back

    return complete_and_call_back(
        order_id=order_id, final_status=final_status, copies=copies
    )
