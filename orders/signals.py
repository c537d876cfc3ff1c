"""Receivers of orders: what other apps (kameng.events) and our own domain
modules announce, turned into a service call or a queued task. Connected by
orders.apps.OrdersConfig.ready."""

from django.dispatch import receiver

from kameng import events
from orders.fulfilment import apply_callback, fulfilment_due
from orders.tasks import queue_fulfilment_step


@receiver(events.supplier_callback)
def apply_supplier_callback(sender, supplier_id, order_no, status, trade_no, **kwargs):
    apply_callback(
        supplier_id=supplier_id, order_no=order_no, status=status, trade_no=trade_no
    )


@receiver(fulfilment_due)
def queue_due_fulfilment(sender, order_id, **kwargs):
    queue_fulfilment_step(order_id=order_id)
