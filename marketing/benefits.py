"""What checkout asks of marketing, in one place.

Marketing may not import orders, so orders calls in here with plain values:

1. The price. Each module that changes a price (flash sale, coupon, points)
   registers a price step with catalog (`register_price_step`); the step reads
   `ctx.options` (what the buyer chose: `coupon_id`, `points`, ...) and applies
   its layer only while its module is on (kameng.modules).
2. The claim. Once the order row exists, in the same transaction, orders calls
   `claim_benefits(order=OrderRef(...), quote=..., options=...)`. Each module's
   claim takes what its layer promised (marks the coupon used, counts the flash
   sale's units, debits the points) and raises a DomainError when it cannot
   (coupon already used, flash sale sold out), which rolls the whole order back:
   nothing charged, nothing half-written.
3. The release. When an order is cancelled or refunded, orders calls
   `release_benefits(order_id=..., reason=...)` in the same transaction; each
   module gives back what its template's rule says (a coupon returned, points
   taken back, flash units freed).

A quote whose layers are only catalog's (base, member level, quantity tier)
involves no module (`involves_marketing`). The hand-written card sale
(orders.sale_sql) takes those, and a flash sale's price too: orders then
claims before the sale's statements, with the order's id and number reserved
(the claims come before the wallet in every path: docs/architecture.md,
"Lock order"). A buyer's choice for a module (a coupon, points) takes the ORM
path.

Register a module's benefit once, at import of its module (from its app's
`ready()`):

    register_benefit(Benefit(module="coupons", layers=("coupon",),
                             claim=claim_coupon, release=release_coupon))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from catalog.services.pricing import PriceQuote

# Layer codes catalog's own steps apply; any other layer is a marketing one.
CATALOG_LAYERS = frozenset({"base", "member_level", "quantity_tier"})


@dataclass(frozen=True)
class OrderRef:
    """An order as marketing sees it (marketing never imports orders)."""

    order_id: int
    order_no: str
    buyer_id: int | None
    sku_id: int
    product_id: int
    category_id: int
    quantity: int
    amount: Decimal  # what the buyer pays, after every layer
    at: datetime


Claim = Callable[..., None]  # (*, order: OrderRef, quote: PriceQuote, options) -> None
Release = Callable[..., None]  # (*, order_id: int, reason: str) -> None


@dataclass(frozen=True)
class Benefit:
    module: str  # kameng.modules code
    layers: tuple[str, ...]  # price layer codes this module applies
    claim: Claim | None = None
    release: Release | None = None


BENEFITS: dict[str, Benefit] = {}


def register_benefit(benefit: Benefit) -> Benefit:
    BENEFITS[benefit.module] = benefit
    return benefit


def involves_marketing(quote: PriceQuote) -> bool:
    """True when a marketing layer shaped the price (the sale must claim it)."""
    return any(code not in CATALOG_LAYERS for code in quote.layer_codes)


def claim_benefits(
    *, order: OrderRef, quote: PriceQuote, options: Mapping | None = None
) -> None:
    """Run every module's claim inside the order's transaction. A claim that
    cannot be honoured raises a DomainError; the caller's transaction rolls back.
    Claims run whether or not their layer applied: a module may also act on an
    order without a price layer (a group buy's membership)."""
    for benefit in BENEFITS.values():
        if benefit.claim is not None:
            benefit.claim(order=order, quote=quote, options=options or {})


# Why an order gives its benefits back.
CANCELLED = "cancelled"
REFUNDED = "refunded"
PARTIALLY_REFUNDED = "partially_refunded"


def release_benefits(*, order_id: int, reason: str) -> None:
    """Give back what the order claimed, in the caller's transaction. Runs even
    for a module switched off since: what was taken is returned either way.
    Each release is idempotent (a second call finds nothing left to return)."""
    for benefit in BENEFITS.values():
        if benefit.release is not None:
            benefit.release(order_id=order_id, reason=reason)
