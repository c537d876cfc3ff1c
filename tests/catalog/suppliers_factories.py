"""Supplier test data for tests/catalog/test_suppliers_*.py (built via services)."""

from decimal import Decimal
from itertools import count

from catalog.models import SandboxProfile, Sku, Supplier, SupplierOffer
from catalog.services.suppliers import set_signing_key
from tests.catalog.factories import make_sku

_seq = count(1)
KEY = "test-signing-key-0123456789abcdef"


def make_supplier(
    *, endpoint="http://127.0.0.1:9/sandbox/supplier/", key=KEY, **fields
) -> Supplier:
    n = next(_seq)
    fields.setdefault("name", f"货源{n}")
    fields.setdefault("merchant_id", f"m-{n}")
    fields.setdefault("is_sandbox", True)
    fields.setdefault("timeout_seconds", Decimal("3.00"))
    supplier = Supplier.objects.create(endpoint=endpoint, **fields)
    return set_signing_key(supplier=supplier, key=key)


def make_profile(supplier: Supplier, **knobs) -> SandboxProfile:
    knobs.setdefault("latency_ms", 0)
    return SandboxProfile.objects.create(merchant_id=supplier.merchant_id, **knobs)


def make_topup_sku(**fields) -> Sku:
    fields.setdefault("delivery_type", Sku.DeliveryType.TOPUP)
    fields.setdefault("stock_mode", Sku.StockMode.UNLIMITED)
    return make_sku(**fields)


def make_offer(supplier: Supplier, sku: Sku | None = None, **fields) -> SupplierOffer:
    fields.setdefault("supplier_sku", f"UP-{next(_seq)}")
    fields.setdefault("cost", Decimal("9.50"))
    return SupplierOffer.objects.create(
        supplier=supplier, sku=sku or make_topup_sku(), **fields
    )
