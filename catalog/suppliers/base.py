"""The supplier adapter interface: one class per protocol.

An adapter speaks to one supplier over the network and turns everything it can get
back into either a `SupplierResult` (the supplier answered: success, processing or
failed) or a `SupplierError` subclass (no usable answer: timeout, connection
error, garbage, bad signature, HTTP 5xx). It never touches the database; recording
calls and the circuit breaker live in catalog.services.suppliers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

from kameng.exceptions import DomainError

if TYPE_CHECKING:
    from catalog.models import Supplier


class ResultStatus(models.TextChoices):
    SUCCESS = "success", _("Success")
    PROCESSING = "processing", _("Processing")
    FAILED = "failed", _("Failed")


# Failure codes that say nothing about the supplier's health: the buyer's account
# was refused, or the supplier never received the order we asked about.
NEUTRAL_FAILURE_CODES = frozenset({"invalid_account", "not_found"})


@dataclass(frozen=True)
class SupplierResult:
    status: str
    trade_no: str = ""
    message: str = ""
    code: str = ""
    order_no: str = ""
    http_status: int | None = None
    raw: Mapping = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_final(self) -> bool:
        return self.status in (ResultStatus.SUCCESS, ResultStatus.FAILED)

    @property
    def supplier_at_fault(self) -> bool:
        """A failed answer that counts against the supplier's health."""
        return (
            self.status == ResultStatus.FAILED
            and self.code not in NEUTRAL_FAILURE_CODES
        )


@dataclass(frozen=True)
class CallbackData:
    """A verified callback: the supplier reports an order's final (or current)
    state."""

    merchant: str
    order_no: str
    status: str
    trade_no: str
    message: str = ""


class SupplierError(DomainError):
    """No usable answer from the supplier. `outcome` is the SupplierCall outcome
    recorded for it; `ambiguous` means the order may have been placed anyway, so
    query before failing over."""

    code = "supplier_error"
    outcome = "error"
    ambiguous = False

    def __init__(self, message, *, http_status: int | None = None, **extra):
        super().__init__(message, **extra)
        self.http_status = http_status


class SupplierTimeout(SupplierError):
    code = "supplier_timeout"
    outcome = "timeout"
    ambiguous = True


class SupplierUnreachable(SupplierError):
    """Connection refused, DNS failure, TLS error: the request never arrived."""

    code = "supplier_unreachable"
    outcome = "error"


class SupplierBadResponse(SupplierError):
    """An answer we cannot trust or read: HTTP 5xx, non-JSON, missing fields."""

    code = "supplier_bad_response"
    outcome = "bad_response"
    ambiguous = True


class SupplierRejected(SupplierError):
    """The response's signature is missing or wrong (or the supplier refused ours)."""

    code = "supplier_rejected"
    outcome = "rejected"
    ambiguous = True


class SupplierUnavailable(SupplierError):
    """We did not call: the supplier is disabled or its circuit breaker is open."""

    code = "supplier_unavailable"
    outcome = "error"


class CallbackRejected(DomainError):
    """An incoming callback failed verification (signature, replay, body)."""

    code = "supplier_callback_rejected"

    def __init__(self, message, *, reason: str, **extra):
        super().__init__(message, **extra)
        self.reason = reason


class SupplierAdapter(ABC):
    """One protocol. Built for one Supplier; `key` is its decrypted signing key."""

    def __init__(self, supplier: Supplier, *, key: str):
        self.supplier = supplier
        self.key = key

    @property
    def timeout(self) -> float:
        return float(self.supplier.timeout_seconds)

    @abstractmethod
    def submit(
        self,
        *,
        order_no: str,
        supplier_sku: str,
        quantity: int,
        account: dict,
        callback_url: str,
    ) -> SupplierResult:
        """Place (or re-place: order_no is the idempotency key) an order."""

    @abstractmethod
    def query(self, *, order_no: str) -> SupplierResult:
        """The supplier's current state of an order."""

    @abstractmethod
    def verify_callback(
        self, *, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> CallbackData:
        """Parse a callback; raises CallbackRejected unless it is authentic."""
