"""Order rows for the workbench tests, written as checkout leaves them (the list
and the export read rows; how an order got there is tested elsewhere)."""

from datetime import datetime
from decimal import Decimal
from itertools import count

from django.utils import timezone

from orders.models import Order

_seq = count(1)


def make_order(sku, *, buyer=None, contact="", created=None, **fields) -> Order:
    n = next(_seq)
    amount = fields.pop("amount", Decimal("10.00"))
    fields.setdefault("status", Order.Status.DELIVERED)
    fields.setdefault("payment_method", Order.PaymentMethod.WALLET)
    order = Order.objects.create(
        order_no=f"2611{n:010d}",
        buyer=buyer,
        contact=contact if buyer or contact else f"guest{n}@example.com",
        sku=sku,
        quantity=fields.pop("quantity", 1),
        unit_price=amount,
        amount=amount,
        **fields,
    )
    if created is not None:
        Order.objects.filter(pk=order.pk).update(created_at=created)
        order.created_at = created
    return order


def local(year, month, day, hour=12) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour))
