"""The payment gateway interface: what the shop needs from any gateway.

A gateway adapter turns an order (or a wallet top-up: anything with
`order_no`, `amount` and an SKU or a `payment_subject`) into a URL to send the
buyer to (`start`), checks an asynchronous notify and reads it into a `Notice`
(`verify_notify`, raising `NotifyRejected` for anything not provably from the
gateway), asks the gateway about an order whose notify never came (`query`),
and answers the notify the way that gateway expects (`answer`); `refund` gives
a paid trade's money back (a gateway without a refund API says BY_HAND, and
finance refunds at the gateway's own site). Settling the
money is not the adapter's business: orders.payments.services does it, the same
way for every gateway.
Alipay or WeChat Pay is one more subclass registered in orders.payments.registry.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.http import HttpResponse
from django.utils.translation import gettext as _

from kameng.exceptions import DomainError


class PaymentError(DomainError):
    code = "payment_error"


class UnknownChannel(PaymentError):
    code = "payment_unknown_channel"


class NotifyRejected(PaymentError):
    """A notify we will not act on. `reason` is a stable code for the log:
    missing_field, bad_signature, stale_timestamp, reused_nonce, bad_amount,
    unknown_order, trade_conflict, ..."""

    code = "payment_notify_rejected"

    def __init__(self, reason: str, message: str, **extra):
        super().__init__(message, **extra)
        self.reason = reason


@dataclass(frozen=True)
class NotifyRequest:
    """An incoming notify, as the view received it (no Django request inside)."""

    method: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)  # query string + form

    def header(self, name: str) -> str:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return ""


@dataclass(frozen=True)
class Notice:
    """A verified statement of the gateway about one order."""

    order_no: str
    trade_no: str
    amount: Decimal
    paid: bool
    raw: dict


@dataclass(frozen=True)
class QueryResult:
    PAID = "paid"
    UNPAID = "unpaid"
    UNKNOWN = "unknown"

    state: str
    notice: Notice | None = None
    detail: str = ""


@dataclass(frozen=True)
class RefundResult:
    """What a gateway said to a refund: DONE (money on its way back), BY_HAND
    (no refund API: finance refunds at the gateway's site) or FAILED (try
    again later; the gateway was not reached or refused for now)."""

    DONE = "done"
    BY_HAND = "by_hand"
    FAILED = "failed"

    state: str
    refund_no: str = ""
    detail: str = ""


def parse_money(value, *, field_name: str = "money") -> Decimal:
    """A positive amount with at most two decimals, or NotifyRejected."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        amount = None
    if (
        amount is None
        or not amount.is_finite()
        or amount <= 0
        or amount.as_tuple().exponent < -2
        or amount >= Decimal("1e12")
    ):
        raise NotifyRejected(
            "bad_amount",
            _("Field %(field)s is not a valid amount.") % {"field": field_name},
        )
    return amount.quantize(Decimal("0.01"))


def payment_subject(payable) -> str:
    """What the gateway shows the buyer: the SKU of an order, or the payable's
    own `payment_subject` (a wallet top-up)."""
    subject = getattr(payable, "payment_subject", None)
    return str(subject if subject is not None else payable.sku)[:100]


class Gateway(ABC):
    channel: str = ""
    label = ""

    def __init__(self, config: dict):
        self.config = config

    @abstractmethod
    def start(self, *, order, notify_url: str, return_url: str) -> str:
        """The URL the buyer is sent to, to pay `order`."""

    @abstractmethod
    def verify_notify(self, request: NotifyRequest) -> Notice:
        """Read a notify; raise NotifyRejected unless it is genuine and fresh."""

    @abstractmethod
    def query(self, *, order) -> QueryResult:
        """Ask the gateway whether `order` was paid (never raises for a network
        problem: that is QueryResult.UNKNOWN)."""

    @abstractmethod
    def answer(self, *, ok: bool, reason: str = "") -> HttpResponse:
        """The response the gateway expects to a notify."""

    def refund(
        self, *, order_no: str, trade_no: str, refund_no: str, amount: Decimal
    ) -> RefundResult:
        """Give `amount` of the paid trade back to the payer. `refund_no` is our
        idempotency key: the same number again never refunds twice. Never raises
        for a network problem (that is FAILED). Without a refund API: BY_HAND."""
        return RefundResult(
            RefundResult.BY_HAND,
            detail=_("This gateway has no refund API: refund at its merchant site."),
        )
