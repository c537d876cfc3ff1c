"""Receivers of orders: what other apps tell us through kameng.events."""

from django.dispatch import receiver

from kameng import events


@receiver(events.supplier_callback)
def apply_supplier_callback(sender, supplier_id, order_no, status, trade_no, **kwargs):
    from orders.fulfilment import apply_callback

    apply_callback(
        supplier_id=supplier_id, order_no=order_no, status=status, trade_no=trade_no
    )
