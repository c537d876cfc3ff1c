from kameng.exceptions import DomainError


class IllegalTransition(DomainError):
    code = "order_illegal_transition"


class CheckoutRefused(DomainError):
    """The order cannot be placed as asked (SKU off sale, quantity, account)."""

    code = "order_checkout_refused"


class SoldOut(DomainError):
    code = "order_sold_out"


class RefundRefused(DomainError):
    code = "order_refund_refused"


class DeliveryRefused(DomainError):
    """Staff may not deliver or resolve this order this way."""

    code = "order_delivery_refused"
