"""What every sale of a SKU reads of the catalog, kept per process.

A sale reads the same rows again and again: the SKU, its product, its level
prices and quantity tiers. `sale_entry(sku_id)` keeps them in this process's
memory, stamped with the SKU's `sale_version`, which database triggers move on
every change to any of those rows (catalog migration 0005), whoever makes it:
the admin, an import, a cost-plus re-price, psql, another process.

Never a stale price: the stamp is checked where it counts. The sale's statement
that moves the SKU's stock (under its row lock, which every price edit takes
too) returns the current version; a sale quoted from an older entry rolls back
and quotes again from a fresh one (orders.sale_sql). Pages that read the SKU
anyway pass its version (`sale_entry(pk, version=sku.sale_version)`), so they
never show an older price than the row they read.

Entries are shared by the threads of a process and never changed: a new
version replaces the whole entry. Their Sku (and its product) are read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from catalog.models import LevelPrice, Product, QuantityTier, Sku
from catalog.services.pricing import PriceQuote, quote_price

MAX_ENTRIES = 5000  # SKUs kept per process; all dropped at once when full


@dataclass(frozen=True)
class SaleEntry:
    sku: Sku  # with .product loaded
    version: int
    level_prices: Mapping[int, tuple[Decimal, str]]  # level id -> (price, name)
    tiers: tuple[tuple[int, Decimal], ...]  # (min quantity, price), highest first

    @property
    def on_sale(self) -> bool:
        return self.sku.is_active and self.sku.product.status == Product.Status.LISTED

    # catalog.services.pricing.PriceRows
    def level_price(self, level_id: int) -> tuple[Decimal, str] | None:
        return self.level_prices.get(level_id)

    def tier(self, quantity: int) -> tuple[int, Decimal] | None:
        return next((tier for tier in self.tiers if tier[0] <= quantity), None)


_entries: dict[int, SaleEntry] = {}


def sale_entry(sku_id: int, *, version: int | None = None) -> SaleEntry:
    """The SKU's entry; read again when there is none or it is older than
    `version` (a version the caller has read; versions only go up, so an older
    one is the caller's, not the cache's). Raises Sku.DoesNotExist."""
    entry = _entries.get(sku_id)
    if entry is None or (version is not None and entry.version < version):
        entry = _load(sku_id)
    return entry


def fresh_entry(sku_id: int) -> SaleEntry:
    """The SKU's entry read again now (a sale found its version out of date)."""
    return _load(sku_id)


def forget_all() -> None:
    """Drop every entry (tests; a process that wants to start cold)."""
    _entries.clear()


def _load(sku_id: int) -> SaleEntry:
    # The version is read with (before) the rows it stamps: an entry may hold
    # rows newer than its version (then the sale retries once), never older.
    sku = Sku.objects.select_related("product").get(pk=sku_id)
    levels = {
        level_id: (price, name)
        for level_id, price, name in LevelPrice.objects.filter(
            sku_id=sku_id
        ).values_list("level_id", "price", "level__name")
    }
    tiers = tuple(
        QuantityTier.objects.filter(sku_id=sku_id)
        .order_by("-min_quantity")
        .values_list("min_quantity", "price")
    )
    entry = SaleEntry(
        sku=sku, version=sku.sale_version, level_prices=levels, tiers=tiers
    )
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    _entries[sku_id] = entry
    return entry


def quote(
    entry: SaleEntry,
    *,
    buyer=None,
    quantity: int = 1,
    at: datetime | None = None,
    options: Mapping | None = None,
) -> PriceQuote:
    """quote_price() from the entry's rows instead of the database."""
    return quote_price(
        sku=entry.sku,
        buyer=buyer,
        quantity=quantity,
        at=at,
        price_rows=entry,
        options=options,
    )
