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


class NoteRefused(DomainError):
    code = "order_note_refused"


class TicketRefused(DomainError):
    """A ticket cannot be opened, answered or moved this way."""

    code = "ticket_refused"


class AttachmentRefused(DomainError):
    """An uploaded image is too big or not an image we accept."""

    code = "ticket_attachment_refused"


class ReissueRefused(DomainError):
    """Card codes cannot be marked invalid or reissued this way."""

    code = "order_reissue_refused"
