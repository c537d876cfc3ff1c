"""Receivers of orders: what other apps (kameng.events) and our own domain
modules announce, turned into a service call or a queued task. Connected by
orders.apps.OrdersConfig.ready."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from kameng import events
from orders.fulfilment import apply_callback, fulfilment_due
from orders.models import CannedReply
from orders.payments.tasks import queue_gateway_refund
from orders.refunds import gateway_refund_due
from orders.suggest import replies_changed
from orders.tasks import poke_paid_drain, queue_fulfilment_step
from orders.transitions import DEFERRED, Deferral, write_paid_announcement


@receiver(events.supplier_callback)
def apply_supplier_callback(sender, supplier_id, order_no, status, trade_no, **kwargs):
    apply_callback(
        supplier_id=supplier_id, order_no=order_no, status=status, trade_no=trade_no
    )


@receiver(gateway_refund_due)
def queue_refund_at_gateway(sender, refund_id, **kwargs):
    queue_gateway_refund(refund_id=refund_id)


@receiver(fulfilment_due)
def queue_due_fulfilment(sender, order_id, **kwargs):
    queue_fulfilment_step(order_id=order_id)


@receiver(post_save, sender=CannedReply)
@receiver(post_delete, sender=CannedReply)
def rebuild_support_index(sender, **kwargs):
    replies_changed()


# What other apps do about a sale runs in the worker, not in the buyer's request:
# an outbox row in the sale's transaction, a drain woken after commit.
DEFERRED[events.order_paid] = Deferral(
    write=write_paid_announcement, wake=poke_paid_drain
)
