"""Hand-made sales for the analytics and recommendation tests.

Orders are written as they stand after checkout and payment (the services'
end state), with the payment time a test needs: a figure per hour of day or
per day boundary cannot be reached through checkout, which stamps "now".
"""

from datetime import datetime
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

from orders.models import Order, new_order_no

SHANGHAI = ZoneInfo("Asia/Shanghai")
_seq = count(1)


def at(text: str) -> datetime:
    """'2026-11-20 20:15' in shop time, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def sold(
    *,
    sku,
    buyer=None,
    paid_at: datetime,
    quantity: int = 1,
    unit_price: Decimal | str | None = None,
    refunded: Decimal | str = "0.00",
    status: str = Order.Status.DELIVERED,
) -> Order:
    unit = Decimal(unit_price if unit_price is not None else sku.price)
    return Order.objects.create(
        order_no=f"{new_order_no(paid_at)[:6]}{next(_seq):08d}",
        buyer=buyer,
        contact="" if buyer else "guest@example.com",
        sku=sku,
        quantity=quantity,
        unit_price=unit,
        amount=unit * quantity,
        refunded_amount=Decimal(refunded),
        status=status,
        payment_method=Order.PaymentMethod.WALLET,
        paid_at=paid_at,
    )
