"""Celery tasks of orders: thin, idempotent, each calls a service."""

from celery import shared_task


@shared_task(name="orders.settle_pending_payments", ignore_result=True)
def settle_pending_payments_task() -> dict[str, int]:
    """Every 2 minutes: ask the gateway about orders whose notify never came."""
    from orders.payments.services import settle_pending_gateway_orders

    return settle_pending_gateway_orders()


@shared_task(name="orders.cancel_unpaid_orders", ignore_result=True)
def cancel_unpaid_orders_task() -> int:
    """Every minute: cancel orders and wallet top-ups unpaid after
    ORDER_PAYMENT_TIMEOUT_MINUTES."""
    from orders.payments.services import cancel_expired_orders
    from orders.payments.topups import cancel_expired_topups

    return cancel_expired_orders() + cancel_expired_topups()


@shared_task(
    name="orders.sandbox_send_notify",
    bind=True,
    ignore_result=True,
    max_retries=5,
)
def sandbox_send_notify_task(self, order_no: str) -> bool:
    """The sandbox gateway's notify sender: POSTs the signed notify and retries
    with backoff until our side answers ok, as a real gateway does."""
    from orders.payments.sandbox import send_notify

    if send_notify(order_no=order_no):
        return True
    raise self.retry(countdown=5 * 2**self.request.retries)


@shared_task(name="orders.advance_fulfilment", ignore_result=True, acks_late=True)
def advance_fulfilment_task(order_id: int) -> str | None:
    """One step of a top-up: submit, query, fail over (idempotent, leased)."""
    from orders.fulfilment import advance_fulfilment

    return advance_fulfilment(order_id=order_id)


@shared_task(name="orders.sweep_fulfilments", ignore_result=True)
def sweep_fulfilments_task() -> int:
    """Every 30 s: re-enqueue top-ups a lost message left behind, poll the ones
    processing at a supplier."""
    from orders.fulfilment import due_fulfilments

    due = due_fulfilments()
    for order_id in due:
        advance_fulfilment_task.delay(order_id)
    return len(due)
