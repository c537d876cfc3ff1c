"""Celery tasks of payments: thin, idempotent, each calls a service. Also the
one place that decides how the sandbox gateway's notify travels (queued over
HTTP, or in-process when Celery runs eagerly).

Registered by orders.apps.OrdersConfig.ready (Celery's autodiscovery looks for
`orders.tasks` only); the names are what beat and workers know them by."""

from __future__ import annotations

from celery import shared_task

from kameng.celery import app as celery_app
from orders.payments import sandbox_remote
from orders.payments.base import NotifyRequest
from orders.payments.refunding import refund_at_gateway, refunds_waiting_at_gateways
from orders.payments.services import (
    cancel_expired_orders,
    receive_notify,
    settle_pending_gateway_orders,
)
from orders.payments.topups import cancel_expired_topups

SANDBOX_NOTIFY_DELAY_SECONDS = 1  # a real gateway's notify leaves a moment later


@shared_task(name="orders.refund_at_gateway", ignore_result=True, acks_late=True)
def refund_at_gateway_task(refund_id: int) -> str | None:
    """Give one guest refund back through its gateway (idempotent, locked)."""
    return refund_at_gateway(refund_id=refund_id)


@shared_task(name="orders.sweep_gateway_refunds", ignore_result=True)
def sweep_gateway_refunds_task() -> int:
    """Every 10 minutes: ask again about guest refunds still at a gateway."""
    due = refunds_waiting_at_gateways()
    for refund_id in due:
        refund_at_gateway_task.delay(refund_id)
    return len(due)


def queue_gateway_refund(*, refund_id: int) -> None:
    """A guest refund was decided (gateway_refund_due, after commit): queue it."""
    refund_at_gateway_task.delay(refund_id)


@shared_task(name="orders.settle_pending_payments", ignore_result=True)
def settle_pending_payments_task() -> dict[str, int]:
    """Every 2 minutes: ask the gateway about orders whose notify never came."""
    return settle_pending_gateway_orders()


@shared_task(name="orders.cancel_unpaid_orders", ignore_result=True)
def cancel_unpaid_orders_task() -> int:
    """Every minute: cancel orders and wallet top-ups unpaid after
    ORDER_PAYMENT_TIMEOUT_MINUTES."""
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
    if sandbox_remote.send_notify(order_no=order_no):
        return True
    raise self.retry(countdown=5 * 2**self.request.retries)


def notify_in_process(*, order_no: str) -> bool:
    """The sandbox gateway's signed notify, handed to our notify handler without
    HTTP. True when our side accepted it."""
    notify = sandbox_remote.notify_of(order_no)
    if notify is None:
        return False
    _url, body, headers = notify
    outcome = receive_notify(
        channel="sandbox",
        request=NotifyRequest(method="POST", body=body, headers=headers),
    )
    return outcome.ok


def schedule_sandbox_notify(*, order_no: str) -> None:
    """After the buyer pressed "pay" on the sandbox page: the notify leaves from a
    worker over HTTP a moment later, like a real gateway's. With eager Celery
    (tests) no server may be listening, so it is handed over in-process."""
    if celery_app.conf.task_always_eager:
        notify_in_process(order_no=order_no)
        return
    sandbox_send_notify_task.apply_async(
        kwargs={"order_no": order_no}, countdown=SANDBOX_NOTIFY_DELAY_SECONDS
    )
