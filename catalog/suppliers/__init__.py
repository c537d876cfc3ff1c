"""Supplier protocol adapters, chosen by Supplier.protocol.

Adding a protocol: write a SupplierAdapter subclass, add a Supplier.Protocol
choice, and map it in ADAPTERS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from catalog.suppliers.base import (
    CallbackData,
    CallbackRejected,
    ResultStatus,
    SupplierAdapter,
    SupplierBadResponse,
    SupplierError,
    SupplierRejected,
    SupplierResult,
    SupplierTimeout,
    SupplierUnavailable,
    SupplierUnreachable,
)
from catalog.suppliers.kameng_v1 import KamengV1Adapter

if TYPE_CHECKING:
    from catalog.models import Supplier

ADAPTERS: dict[str, type[SupplierAdapter]] = {
    KamengV1Adapter.protocol: KamengV1Adapter,
}


def signing_key(supplier: Supplier) -> str:
    """The supplier's decrypted signing key; SupplierUnavailable when it has none
    (or it was encrypted under a key we no longer hold)."""
    from kameng import crypto

    if not supplier.secret:
        raise SupplierUnavailable(
            _("Supplier %(name)s has no signing key.") % {"name": supplier.name}
        )
    try:
        return crypto.decrypt(supplier.secret)
    except crypto.InvalidToken as exc:
        raise SupplierUnavailable(
            _("The signing key of supplier %(name)s cannot be decrypted.")
            % {"name": supplier.name}
        ) from exc


def get_adapter(supplier: Supplier) -> SupplierAdapter:
    try:
        adapter_class = ADAPTERS[supplier.protocol]
    except KeyError as exc:
        raise SupplierUnavailable(
            _("Supplier %(name)s uses an unknown protocol %(protocol)s.")
            % {"name": supplier.name, "protocol": supplier.protocol}
        ) from exc
    return adapter_class(supplier, key=signing_key(supplier))


__all__ = [
    "ADAPTERS",
    "CallbackData",
    "CallbackRejected",
    "ResultStatus",
    "SupplierAdapter",
    "SupplierBadResponse",
    "SupplierError",
    "SupplierRejected",
    "SupplierResult",
    "SupplierTimeout",
    "SupplierUnavailable",
    "SupplierUnreachable",
    "get_adapter",
    "signing_key",
]
