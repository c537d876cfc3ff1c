"""Prices: the quote (every layer, one function) and the writes that change prices.

The quote
---------
`quote_price(sku=..., buyer=..., quantity=..., at=...)` runs PRICE_STEPS in order.
Each step receives the QuoteContext and may apply one layer, which adds a line to
the breakdown: a unit-price layer (`ctx.apply(...)`) sets the unit price from then
on; an order-level layer (`ctx.take_off_total(...)`: coupon, points as cash) takes
an amount off the order's total and comes after every unit-price layer:

1. base: `Sku.price`.
2. member level / quantity tier: both are discounts on the base price, and they do
   not stack. Of the applicable ones (the buyer's level has a LevelPrice on this
   SKU; the quantity reaches a QuantityTier, the highest such tier) the one with the
   **lowest unit price** applies; on a tie the member price wins. A layer never
   raises the price: a level price above the base price is ignored.

No unit price is ever below 0.01. Later layers (flash sale, coupon, points at
checkout) plug in with `register_price_step(step)` or, for one quote only,
`quote_price(..., extra_steps=[...], options={...})`; a step reads the context
(buyer, quantity, at, options) and calls `ctx.apply(...)`.

Writes
------
Every change of a price layer writes a PriceChange row (`record_price_change`), with
its cause (manual, import, cost_change, rule) and the person acting. Staff edits in
the admin go through `save_sku_prices`, `save_level_prices`, `save_quantity_tiers`
and `save_cost_plus_rule`; supplier cost changes call `apply_cost_plus`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Protocol

from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.models import CostPlusRule, LevelPrice, PriceChange, QuantityTier, Sku
from kameng import audit
from kameng.exceptions import DomainError

CENT = Decimal("0.01")
MIN_UNIT_PRICE = CENT


class QuantityOutOfRange(DomainError):
    code = "catalog_quantity_out_of_range"


class PricingError(DomainError):
    code = "catalog_pricing_error"


def to_money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# --- the quote -----------------------------------------------------------------


@dataclass(frozen=True)
class PriceLayer:
    """One line of the breakdown: which layer, and the unit price after it."""

    code: str  # "base", "member_level", "quantity_tier", later "flash_sale"...
    label: str  # translatable (lazy) label shown to people
    unit_price: Decimal
    note: str = ""
    # An order-level layer (coupon, points) leaves the unit price as it was and
    # takes this much off the order's total instead.
    amount_off: Decimal = Decimal("0.00")

    def as_dict(self) -> dict:
        layer = {
            "code": self.code,
            "label": str(self.label),
            "unit_price": str(self.unit_price),
            "note": str(self.note),
        }
        if self.amount_off:
            layer["amount_off"] = str(self.amount_off)
        return layer


@dataclass(frozen=True)
class PriceQuote:
    sku_id: int
    quantity: int
    at: datetime
    unit_price: Decimal
    total: Decimal
    layers: tuple[PriceLayer, ...]

    @property
    def base_price(self) -> Decimal:
        return self.layers[0].unit_price

    @property
    def layer_codes(self) -> list[str]:
        return [layer.code for layer in self.layers]

    def as_dict(self) -> dict:
        """JSON-safe snapshot to store on an order (money as strings)."""
        return {
            "sku_id": self.sku_id,
            "quantity": self.quantity,
            "at": self.at.isoformat(),
            "unit_price": str(self.unit_price),
            "total": str(self.total),
            "layers": [layer.as_dict() for layer in self.layers],
        }


@dataclass
class QuoteContext:
    sku: Sku
    buyer: object | None
    quantity: int
    at: datetime
    options: Mapping = field(default_factory=dict)
    # Where the level prices and tiers come from: None reads the database; the
    # sale cache (catalog.services.sale_cache) passes its snapshot (PriceRows).
    price_rows: PriceRows | None = None
    unit_price: Decimal | None = None
    layers: list[PriceLayer] = field(default_factory=list)
    amount_off: Decimal = Decimal("0.00")

    @property
    def member_level_id(self) -> int | None:
        return getattr(self.buyer, "member_level_id", None)

    @property
    def subtotal(self) -> Decimal:
        """Unit price × quantity, before order-level layers."""
        return to_money(self.unit_price * self.quantity)

    @property
    def total(self) -> Decimal:
        """What the order costs after every layer so far (never below 0.01)."""
        return self.subtotal - self.amount_off

    def apply(self, code: str, label, unit_price: Decimal, note: str = "") -> None:
        """A unit-price layer: the unit price from now on."""
        if self.amount_off:
            raise PricingError("a unit-price layer cannot follow an order-level one")
        unit_price = max(to_money(unit_price), MIN_UNIT_PRICE)
        self.unit_price = unit_price
        self.layers.append(PriceLayer(code, label, unit_price, note))

    def take_off_total(
        self, code: str, label, amount: Decimal, note: str = ""
    ) -> Decimal:
        """An order-level layer (coupon, points as cash): `amount` off the total,
        at most down to 0.01. Returns what was actually taken off."""
        amount = min(to_money(amount), self.total - MIN_UNIT_PRICE)
        if amount <= 0:
            return Decimal("0.00")
        self.amount_off += amount
        self.layers.append(
            PriceLayer(code, label, self.unit_price, note, amount_off=amount)
        )
        return amount

    def pay_in_full(self, code: str, label, note: str = "") -> Decimal:
        """The one layer that takes the total to 0.00: a voucher (兑换券) pays
        for the SKU itself. It comes last; returns the amount it took off."""
        amount = self.total
        if amount <= 0:
            return Decimal("0.00")
        self.amount_off += amount
        self.layers.append(
            PriceLayer(code, label, self.unit_price, note, amount_off=amount)
        )
        return amount


PriceStep = Callable[[QuoteContext], None]


class PriceRows(Protocol):
    """A SKU's level prices and quantity tiers, already read."""

    def level_price(self, level_id: int) -> tuple[Decimal, str] | None:
        """(price, level name) of the level's price on the SKU, or None."""

    def tier(self, quantity: int) -> tuple[int, Decimal] | None:
        """(min quantity, price) of the highest tier `quantity` reaches, or None."""


# What each layer code is called on pages (orders keep the code; pages name it).
LAYER_LABELS = {
    "base": _("Base price"),
    "member_level": _("Member-level price"),
    "quantity_tier": _("Quantity price"),
    "points": _("Points discount"),
    "group_buy": _("Group-buy price"),
    "coupon": _("Coupon"),
    "flash_sale": _("Flash-sale price"),
    "voucher": _("Voucher"),
}


def base_price_step(ctx: QuoteContext) -> None:
    ctx.apply("base", LAYER_LABELS["base"], ctx.sku.price)


def _member_candidate(ctx: QuoteContext):
    if ctx.member_level_id is None:
        return None
    if ctx.price_rows is not None:
        found = ctx.price_rows.level_price(ctx.member_level_id)
        if found is None:
            return None
        note = gettext("Member level %(level)s") % {"level": found[1]}
        return ("member_level", LAYER_LABELS["member_level"], found[0], note)
    row = (
        LevelPrice.objects.filter(sku=ctx.sku, level_id=ctx.member_level_id)
        .select_related("level")
        .first()
    )
    if row is None:
        return None
    note = gettext("Member level %(level)s") % {"level": row.level.name}
    return ("member_level", LAYER_LABELS["member_level"], row.price, note)


def _tier_candidate(ctx: QuoteContext):
    if ctx.quantity < 2:  # no tier starts below 2 (constraint catalog_tier_min_2)
        return None
    if ctx.price_rows is not None:
        found = ctx.price_rows.tier(ctx.quantity)
        if found is None:
            return None
        note = gettext("%(n)s or more") % {"n": found[0]}
        return ("quantity_tier", LAYER_LABELS["quantity_tier"], found[1], note)
    row = (
        QuantityTier.objects.filter(sku=ctx.sku, min_quantity__lte=ctx.quantity)
        .order_by("-min_quantity")
        .first()
    )
    if row is None:
        return None
    note = gettext("%(n)s or more") % {"n": row.min_quantity}
    return ("quantity_tier", LAYER_LABELS["quantity_tier"], row.price, note)


def member_or_tier_step(ctx: QuoteContext) -> None:
    """The lowest of member price and quantity tier, if below the current price."""
    candidates = [c for c in (_member_candidate(ctx), _tier_candidate(ctx)) if c]
    best = None
    for candidate in candidates:  # member first: it wins a tie
        if candidate[2] < ctx.unit_price and (best is None or candidate[2] < best[2]):
            best = candidate
    if best is not None:
        ctx.apply(*best)


PRICE_STEPS: list[PriceStep] = [base_price_step, member_or_tier_step]
# Where each registered step runs: catalog's own first, then by position
# (marketing: flash sale 30, coupon 40, points 50), whatever the import order.
STEP_POSITIONS: dict[PriceStep, int] = {base_price_step: 0, member_or_tier_step: 10}


def register_price_step(step: PriceStep, *, position: int = 100) -> None:
    """Add a layer that runs after catalog's, in `position` order (DESIGN's
    layers: base → member level / quantity tier → flash sale → coupon → points)."""
    STEP_POSITIONS[step] = position
    if step not in PRICE_STEPS:
        PRICE_STEPS.append(step)
    PRICE_STEPS.sort(key=lambda registered: STEP_POSITIONS.get(registered, 100))


def check_quantity(*, sku: Sku, quantity) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise QuantityOutOfRange(
            gettext("Quantity must be a whole number."), quantity=quantity
        )
    if not sku.min_quantity <= quantity <= sku.max_quantity:
        raise QuantityOutOfRange(
            gettext(
                "Quantity %(quantity)s is not allowed for %(sku)s: buy between "
                "%(min)s and %(max)s."
            )
            % {
                "quantity": quantity,
                "sku": sku.code,
                "min": sku.min_quantity,
                "max": sku.max_quantity,
            },
            quantity=quantity,
            min_quantity=sku.min_quantity,
            max_quantity=sku.max_quantity,
        )
    return quantity


def quote_price(
    *,
    sku: Sku,
    buyer=None,
    quantity: int = 1,
    at: datetime | None = None,
    extra_steps: Sequence[PriceStep] = (),
    options: Mapping | None = None,
    price_rows: PriceRows | None = None,
) -> PriceQuote:
    """The price of `quantity` × `sku` for `buyer` at time `at`, with every layer.

    Raises QuantityOutOfRange when the quantity is outside the SKU's limits.
    `price_rows`: the SKU's level prices and tiers already read (the sale cache);
    by default they are read from the database.
    """
    check_quantity(sku=sku, quantity=quantity)
    ctx = QuoteContext(
        sku=sku,
        buyer=buyer,
        quantity=quantity,
        at=at or timezone.now(),
        options=options or {},
        price_rows=price_rows,
    )
    for step in (*PRICE_STEPS, *extra_steps):
        step(ctx)
    return PriceQuote(
        sku_id=sku.pk,
        quantity=quantity,
        at=ctx.at,
        unit_price=ctx.unit_price,
        total=ctx.total,
        layers=tuple(ctx.layers),
    )


# --- price history -----------------------------------------------------------------


def record_price_change(
    *,
    sku: Sku,
    layer: str,
    old: Decimal | None,
    new: Decimal | None,
    cause: str,
    actor=None,
    note: str = "",
) -> PriceChange | None:
    """Write one history row; nothing when the price did not change.

    `layer` is "base", "cost", "level:<code>" or "tier:<min quantity>"; `old`/`new`
    is None where the layer did not exist before/after (a tier added or removed).
    """
    if cause not in PriceChange.Cause.values:
        raise PricingError(
            gettext("Unknown price change cause %(cause)s.") % {"cause": cause}
        )
    old = None if old is None else to_money(old)
    new = None if new is None else to_money(new)
    if old == new:
        return None
    change = PriceChange.objects.create(
        sku=sku,
        layer=layer[:40],
        old_price=old,
        new_price=new,
        cause=cause,
        actor=actor if getattr(actor, "pk", None) else None,
        note=str(note)[:200],
    )
    if change.actor_id is not None:  # a person's change joins the audit log
        audit.record(
            actor=actor,
            action="price.change",
            obj=sku,
            before={"layer": layer, "price": old},
            after={"layer": layer, "price": new},
            note=note,
        )
    return change


# --- cost-plus ---------------------------------------------------------------------


def cost_plus_price(*, cost: Decimal, rule: CostPlusRule) -> Decimal:
    """cost × (1 + margin%), rounded per the rule, clamped to [floor, ceiling].

    Rounding: 0.01 / 0.10 / 1 round half up to that step; x.9 goes up to the next
    price ending in .90 (10.23 → 10.90, 10.90 → 10.90, 10.95 → 11.90).
    """
    raw = Decimal(cost) * (1 + Decimal(rule.margin_percent) / 100)
    mode = rule.rounding
    if mode == CostPlusRule.Rounding.DIME:
        price = raw.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    elif mode == CostPlusRule.Rounding.YUAN:
        price = raw.quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    elif mode == CostPlusRule.Rounding.NINE:
        cents = raw.quantize(CENT, rounding=ROUND_CEILING)
        price = cents.to_integral_value(rounding=ROUND_FLOOR) + Decimal("0.90")
        if price < cents:
            price += 1
    else:
        price = raw.quantize(CENT, rounding=ROUND_HALF_UP)
    if rule.floor is not None:
        price = max(price, rule.floor)
    if rule.ceiling is not None:
        price = min(price, rule.ceiling)
    return max(to_money(price), MIN_UNIT_PRICE)


def current_cost(*, sku: Sku) -> Decimal:
    """What one unit costs us: the cheapest enabled offer of an enabled supplier for
    top-up SKUs (falling back to cost_price when there is none), else cost_price."""
    if sku.delivery_type == Sku.DeliveryType.TOPUP:
        cheapest = sku.offers.filter(enabled=True, supplier__enabled=True).aggregate(
            cost=Min("cost")
        )["cost"]
        if cheapest is not None:
            return to_money(cheapest)
    return to_money(sku.cost_price)


def _rule_note(rule: CostPlusRule) -> str:
    return gettext("Cost-plus rule (%(rounding)s)") % {
        "rounding": rule.get_rounding_display()
    }


@transaction.atomic
def apply_cost_plus(*, sku: Sku, cause: str, actor=None, note: str = "") -> Sku:
    """Re-price a SKU from its cost: updates cost_price of top-up SKUs to the
    cheapest offer (history layer "cost") and, if the SKU has an enabled cost-plus
    rule, its base price (layer "base"). Returns the fresh SKU.

    `note` goes on the "cost" row only; the "base" row names the rule and never a
    cost, because people without catalog.view_cost read base rows."""
    locked = Sku.objects.select_for_update().get(pk=sku.pk)
    changed = []
    cost = current_cost(sku=locked)
    if locked.delivery_type == Sku.DeliveryType.TOPUP and cost != locked.cost_price:
        record_price_change(
            sku=locked,
            layer="cost",
            old=locked.cost_price,
            new=cost,
            cause=cause,
            actor=actor,
            note=note,
        )
        locked.cost_price = cost
        changed.append("cost_price")
    rule = CostPlusRule.objects.filter(sku=locked, enabled=True).first()
    if rule is not None:
        price = cost_plus_price(cost=cost, rule=rule)
        if price != locked.price:
            record_price_change(
                sku=locked,
                layer="base",
                old=locked.price,
                new=price,
                cause=cause,
                actor=actor,
                note=_rule_note(rule),  # never the cost: support reads base rows
            )
            locked.price = price
            changed.append("price")
    if changed:
        locked.save(update_fields=changed)
    sku.price, sku.cost_price = locked.price, locked.cost_price
    return locked


# --- staff edits (admin) -------------------------------------------------------------


@transaction.atomic
def save_sku_prices(
    *, sku: Sku, actor, cause: str = PriceChange.Cause.MANUAL, note: str = ""
) -> Sku:
    """Save an edited SKU and write history for its base and cost price.

    New SKUs get a history row from "nothing" to their first prices.
    """
    old_price = old_cost = None
    if sku.pk:
        old = (
            Sku.objects.select_for_update()
            .filter(pk=sku.pk)
            .values("price", "cost_price")
            .first()
        )
        if old:
            old_price, old_cost = old["price"], old["cost_price"]
    sku.full_clean(exclude=["product"] if not sku.product_id else None)
    sku.save()
    record_price_change(
        sku=sku,
        layer="base",
        old=old_price,
        new=sku.price,
        cause=cause,
        actor=actor,
        note=note,
    )
    if old_cost is not None or sku.cost_price:
        record_price_change(
            sku=sku,
            layer="cost",
            old=old_cost,
            new=sku.cost_price,
            cause=cause,
            actor=actor,
            note=note,
        )
    return sku


def _save_price_rows(
    *,
    sku: Sku,
    rows,
    changed: Iterable,
    deleted: Iterable,
    key: Callable,
    layer: Callable,
    actor,
    cause: str,
) -> None:
    """Shared body of save_level_prices / save_quantity_tiers.

    `rows` is the SKU's existing rows, an unevaluated queryset read only after the
    SKU is locked; `key(row)` tells whether an edited row is still the same layer
    (level_id / min_quantity) and `layer(row)` names its history layer.
    Call inside a transaction.
    """
    Sku.objects.select_for_update().filter(pk=sku.pk).first()
    before = {row.pk: row for row in rows}

    def record(name, old, new):
        record_price_change(
            sku=sku, layer=name, old=old, new=new, cause=cause, actor=actor
        )

    for row in deleted:
        old = before.get(row.pk)
        if old is None:
            continue
        old.delete()
        record(layer(old), old.price, None)
    for row in changed:
        row.sku = sku
        old = before.get(row.pk) if row.pk else None
        row.save()
        if old is not None and key(old) == key(row):
            # same layer: name it from the old row (its relations are loaded)
            record(layer(old), old.price, row.price)
            continue
        if old is not None:
            record(layer(old), old.price, None)
        record(layer(row), None, row.price)


@transaction.atomic
def save_level_prices(
    *,
    sku: Sku,
    changed: Iterable[LevelPrice] = (),
    deleted: Iterable[LevelPrice] = (),
    actor=None,
    cause: str = PriceChange.Cause.MANUAL,
) -> None:
    """Save/delete member-level prices of one SKU, one history row per change."""
    _save_price_rows(
        sku=sku,
        rows=LevelPrice.objects.filter(sku=sku).select_related("level"),
        changed=changed,
        deleted=deleted,
        key=lambda row: row.level_id,
        layer=lambda row: f"level:{row.level.code}",
        actor=actor,
        cause=cause,
    )


@transaction.atomic
def save_quantity_tiers(
    *,
    sku: Sku,
    changed: Iterable[QuantityTier] = (),
    deleted: Iterable[QuantityTier] = (),
    actor=None,
    cause: str = PriceChange.Cause.MANUAL,
) -> None:
    """Save/delete quantity tiers of one SKU, one history row per change."""
    _save_price_rows(
        sku=sku,
        rows=QuantityTier.objects.filter(sku=sku),
        changed=changed,
        deleted=deleted,
        key=lambda row: row.min_quantity,
        layer=lambda row: f"tier:{row.min_quantity}",
        actor=actor,
        cause=cause,
    )


@transaction.atomic
def save_cost_plus_rule(*, rule: CostPlusRule, actor=None) -> Sku:
    """Save a cost-plus rule and re-price its SKU at once (history cause "rule")."""
    rule.full_clean()
    rule.save()
    return apply_cost_plus(
        sku=rule.sku, cause=PriceChange.Cause.RULE, actor=actor, note=_rule_note(rule)
    )
