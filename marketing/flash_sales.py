"""Flash sales (限时秒杀, issue 13): the module, its price layer, its claim.

- The module `flash_sales` (kameng.modules): switched off, no layer applies, the
  shop shows no countdown, its admin and pages answer 404. Its rows stay.
- The price layer "flash_sale" (position 30, after member level / quantity tier,
  before coupons): while a sale of the SKU is live, a logged-in buyer's unit
  price is the flash price (never above what earlier layers gave). Guests keep
  the normal price: the per-buyer cap needs an account.
- Every quote runs the step, the checkout's hot path too, so it reads the
  SKU's sales from a per-process cache stamped with `Sku.sale_version`: saving
  or deleting a sale (`save_flash_sale`, `delete_flash_sale`) moves the SKU's
  version, so a quote that presents a newer SKU row reads the sales again (one
  query); a SKU without a sale costs no query after its first quote. The cache
  keeps upcoming sales too, so a sale going live needs no write. A sale edited
  outside these services (psql) is seen once something else moves the SKU's
  version.
- The claim (marketing.benefits), in the order's transaction: the buyer's
  counter first (one upsert, `bought + qty <= per_buyer_cap`), then the sale's
  row (one conditional UPDATE, `sold + qty <= quantity_cap`, within the window
  and at the quoted price); either refusing raises FlashSaleRefused and the
  whole order rolls back, nothing charged. Units, amount and a cost snapshot go
  in a FlashSaleClaim row, which is what the live and results pages read.
- The release: a cancelled or fully refunded order frees its units (the sale's
  sold, GMV and cost and the buyer's count go down; while the window is open
  someone else can buy them). A partial refund frees nothing: the buyer keeps
  part of the order, so the units stay sold and counted against the limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from catalog.models import Sku
from catalog.services.pricing import (
    LAYER_LABELS,
    PriceQuote,
    QuoteContext,
    current_cost,
    register_price_step,
    to_money,
)
from kameng import modules
from kameng.exceptions import DomainError
from marketing.benefits import (
    CANCELLED,
    REFUNDED,
    Benefit,
    OrderRef,
    register_benefit,
)
from marketing.models import FlashSale, FlashSaleBuyer, FlashSaleClaim

MODULE = "flash_sales"
LAYER = "flash_sale"

modules.register_module(
    modules.Module(
        code=MODULE,
        title=pgettext_lazy("flash sale", "Flash sales"),
        description=_(
            "Time-limited sales of a SKU at a flash price with a quantity cap: the "
            "price layer, the shop's countdown, the admin and the live pages."
        ),
        models=(
            "marketing.flashsale",
            "marketing.flashsalebuyer",
            "marketing.flashsaleclaim",
        ),
        pages=(
            "marketing:flash_sales_live",
            "marketing:flash_sale_live",
            "marketing:flash_sale_figures",
            "marketing:flash_sale_results",
        ),
        order=50,
    )
)


class FlashSaleRefused(DomainError):
    code = "marketing_flash_sale_refused"


class FlashSaleInvalid(DomainError):
    code = "marketing_flash_sale_invalid"


# --- the per-process cache of a SKU's sales -------------------------------------


@dataclass(frozen=True)
class SaleWindow:
    """A sale as the price step needs it (read-only, shared by threads)."""

    id: int
    sku_id: int
    starts_at: datetime
    ends_at: datetime
    price: Decimal
    quantity_cap: int
    per_buyer_cap: int
    title: str

    def is_live(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


MAX_SKUS = 5000  # SKUs kept per process; all dropped at once when full
# sku id -> (the SKU's sale_version when read, its sales not yet ended then)
_sales: dict[int, tuple[int, tuple[SaleWindow, ...]]] = {}


def sales_of(sku: Sku) -> tuple[SaleWindow, ...]:
    """The SKU's sales not ended when read, from this process's cache; read
    again when the caller's SKU row is newer than the cached read."""
    cached = _sales.get(sku.pk)
    if cached is not None and cached[0] >= sku.sale_version:
        return cached[1]
    # The version is the caller's, read before these rows: the rows are at
    # least as new as the stamp, never older.
    rows = tuple(
        SaleWindow(*values)
        for values in FlashSale.objects.filter(
            sku_id=sku.pk, ends_at__gt=timezone.now()
        )
        .order_by("starts_at")
        .values_list(
            "id",
            "sku_id",
            "starts_at",
            "ends_at",
            "price",
            "quantity_cap",
            "per_buyer_cap",
            "title",
        )
    )
    if len(_sales) >= MAX_SKUS:
        _sales.clear()
    _sales[sku.pk] = (sku.sale_version, rows)
    return rows


def forget_sales() -> None:
    """Drop the cache (tests; a process that wants to start cold)."""
    _sales.clear()


def live_sale(sku: Sku, at: datetime | None = None) -> SaleWindow | None:
    at = at or timezone.now()
    return next((sale for sale in sales_of(sku) if sale.is_live(at)), None)


def next_sale(sku: Sku, at: datetime | None = None) -> SaleWindow | None:
    """The live sale, else the next one to start."""
    at = at or timezone.now()
    return next((sale for sale in sales_of(sku) if sale.ends_at > at), None)


# --- the price layer ----------------------------------------------------------------


def flash_sale_step(ctx: QuoteContext) -> None:
    """The flash price while a sale of the SKU is live (logged-in buyers)."""
    if getattr(ctx.buyer, "pk", None) is None:
        return
    sale = live_sale(ctx.sku, ctx.at)
    if sale is None or sale.price >= ctx.unit_price:
        return
    if not modules.is_enabled(MODULE):  # asked only when a sale is live
        return
    note = gettext("Flash sale, %(n)s per buyer") % {"n": sale.per_buyer_cap}
    ctx.apply(LAYER, LAYER_LABELS[LAYER], sale.price, note)


register_price_step(flash_sale_step, position=30)


# --- writes by staff ------------------------------------------------------------------


def validate_flash_sale(sale: FlashSale) -> None:
    """Raise ValidationError (by field, in Chinese) when the sale cannot be saved:
    the window, the price below the SKU's, the caps, no overlap on the SKU."""
    errors: dict[str, list[str]] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    if sale.starts_at and sale.ends_at and sale.ends_at <= sale.starts_at:
        add("ends_at", gettext("The end must be after the start."))
    if sale.quantity_cap is not None and sale.quantity_cap < 1:
        add("quantity_cap", gettext("At least 1 unit must be on sale."))
    if sale.per_buyer_cap is not None and sale.per_buyer_cap < 1:
        add("per_buyer_cap", gettext("The limit per buyer must be at least 1."))
    if (
        sale.quantity_cap is not None
        and sale.per_buyer_cap is not None
        and sale.per_buyer_cap > sale.quantity_cap
    ):
        add(
            "per_buyer_cap",
            gettext("The limit per buyer cannot exceed the units on sale."),
        )
    if sale.quantity_cap is not None and sale.quantity_cap < (sale.sold or 0):
        add(
            "quantity_cap",
            gettext("%(n)s units are already sold: the cap cannot be lower.")
            % {"n": sale.sold},
        )
    if sale.sku_id is not None and sale.price is not None:
        sku = Sku.objects.filter(pk=sale.sku_id).only("price").first()
        if sku is not None and sale.price >= sku.price:
            add(
                "price",
                gettext("The flash price must be below the SKU's price (¥%(p)s).")
                % {"p": sku.price},
            )
        if sale.price <= 0:
            add("price", gettext("The flash price must be at least ¥0.01."))
    if sale.sku_id is not None and sale.starts_at and sale.ends_at:
        overlapping = (
            FlashSale.objects.filter(
                sku_id=sale.sku_id,
                starts_at__lt=sale.ends_at,
                ends_at__gt=sale.starts_at,
            )
            .exclude(pk=sale.pk)
            .order_by("starts_at")
            .first()
        )
        if overlapping is not None:
            add(
                "starts_at",
                gettext(
                    "This SKU already has a flash sale from %(start)s to %(end)s: "
                    "two sales of one SKU cannot overlap."
                )
                % {
                    "start": timezone.localtime(overlapping.starts_at).strftime(
                        "%Y-%m-%d %H:%M"
                    ),
                    "end": timezone.localtime(overlapping.ends_at).strftime(
                        "%Y-%m-%d %H:%M"
                    ),
                },
            )
    if errors:
        raise ValidationError(errors)


def _bump_sku(sku_id: int) -> None:
    """Move the SKU's sale_version: every process reads its sales again."""
    Sku.objects.filter(pk=sku_id).update(sale_version=F("sale_version") + 1)


@transaction.atomic
def save_flash_sale(*, sale: FlashSale, actor=None) -> FlashSale:
    """Validate and save a sale. The SKU's row is locked, so two staff saving
    sales of one SKU at once cannot both pass the overlap check.

    Rows are locked in a purchase's order: a purchase claims the sale's row,
    then moves the SKU's stock, so an edit takes the sale's row first too.
    The other way round, an operator editing a live sale mid-purchase would
    deadlock with it and PostgreSQL would kill one of the two. A sale moved to
    another SKU writes both SKUs' rows (their sale_version): both are locked
    here, in id order, so two sales swapped between two SKUs at once wait for
    each other instead of deadlocking."""
    current = None
    if sale.pk:
        current = FlashSale.objects.select_for_update().filter(pk=sale.pk).first()
    previous_sku = None
    if current is not None:
        sale.sold = current.sold  # the counters are the claims', not the form's
        sale.gmv, sale.cost = current.gmv, current.cost
        previous_sku = current.sku_id
    locked = list(
        Sku.objects.select_for_update()
        .filter(pk__in={sale.sku_id, previous_sku} - {None})
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if sale.sku_id not in locked:
        raise ValidationError({"sku": [pgettext("flash sale", "Choose a SKU.")]})
    validate_flash_sale(sale)
    if sale.created_by_id is None and getattr(actor, "pk", None):
        sale.created_by = actor
    sale.save()
    _bump_sku(sale.sku_id)
    if previous_sku and previous_sku != sale.sku_id:
        _bump_sku(previous_sku)
    return sale


@transaction.atomic
def delete_flash_sale(*, sale: FlashSale) -> None:
    """Delete a sale nobody bought from; a sale with sales stays (end it)."""
    if FlashSaleClaim.objects.filter(sale=sale).exists():
        raise FlashSaleInvalid(
            gettext(
                "Flash sale %(sale)s has orders and cannot be deleted: end it "
                "instead (set its end to now)."
            )
            % {"sale": sale}
        )
    sku_id = sale.sku_id
    sale.delete()
    _bump_sku(sku_id)


# --- the claim and the release (marketing.benefits) --------------------------------


def _buyer_upsert_sql() -> str:
    table = FlashSaleBuyer._meta.db_table
    return (
        f"INSERT INTO {table} (sale_id, buyer_id, bought) VALUES (%s, %s, %s) "
        f"ON CONFLICT (sale_id, buyer_id) DO UPDATE "
        f"SET bought = {table}.bought + excluded.bought "
        f"WHERE {table}.bought + excluded.bought <= %s RETURNING bought"
    )


def _count_for_buyer(*, sale: SaleWindow, buyer_id: int, quantity: int) -> None:
    """One statement: the buyer's units of the sale go up by `quantity` unless
    that passes the limit (the row's lock serialises one buyer's checkouts)."""
    limit = gettext("Limit %(n)s per buyer.") % {"n": sale.per_buyer_cap}
    if quantity > sale.per_buyer_cap:
        raise FlashSaleRefused(limit, reason="per_buyer")
    with connection.cursor() as cursor:
        cursor.execute(
            _buyer_upsert_sql(), [sale.id, buyer_id, quantity, sale.per_buyer_cap]
        )
        if cursor.fetchone() is None:
            raise FlashSaleRefused(limit, reason="per_buyer")


def _why_refused(sale: SaleWindow, *, at: datetime, quantity: int) -> str:
    """What the buyer is told when the sale's row refused the units (one read,
    only on a refusal)."""
    row = FlashSale.objects.filter(pk=sale.id).values(
        "sold", "quantity_cap", "starts_at", "ends_at"
    )
    row = row.first()
    if row is None or not row["starts_at"] <= at < row["ends_at"]:
        return gettext("This flash sale has ended.")
    left = row["quantity_cap"] - row["sold"]
    if left <= 0:
        return gettext("Sold out (已抢光).")
    if left < quantity:
        return gettext("Only %(n)s left at the flash price.") % {"n": left}
    return gettext("The flash sale was just changed: please try again.")


def claim_flash_sale(*, order: OrderRef, quote: PriceQuote, options) -> None:
    """Take the order's units of the live sale, or refuse the order."""
    layer = next((layer for layer in quote.layers if layer.code == LAYER), None)
    if layer is None:
        return
    if order.buyer_id is None:
        raise FlashSaleRefused(gettext("Log in to buy at the flash price."))
    sku = Sku.objects.only("id", "cost_price", "delivery_type").get(pk=order.sku_id)
    sale = next(
        (s for s in _sales.get(sku.pk, (0, ()))[1] if s.is_live(quote.at)), None
    )
    if sale is None:  # another thread cleared the cache meanwhile: read it
        sale = next(
            (
                SaleWindow(*values)
                for values in FlashSale.objects.filter(
                    sku_id=sku.pk, starts_at__lte=quote.at, ends_at__gt=quote.at
                ).values_list(
                    "id",
                    "sku_id",
                    "starts_at",
                    "ends_at",
                    "price",
                    "quantity_cap",
                    "per_buyer_cap",
                    "title",
                )
            ),
            None,
        )
    if sale is None:
        raise FlashSaleRefused(gettext("This flash sale has ended."))
    quantity = order.quantity
    _count_for_buyer(sale=sale, buyer_id=order.buyer_id, quantity=quantity)
    cost = to_money(current_cost(sku=sku) * quantity)
    taken = FlashSale.objects.filter(
        Q(sold__lte=F("quantity_cap") - quantity),
        pk=sale.id,
        starts_at__lte=quote.at,
        ends_at__gt=quote.at,
        price=sale.price,
    ).update(
        sold=F("sold") + quantity,
        gmv=F("gmv") + order.amount,
        cost=F("cost") + cost,
    )
    if not taken:
        raise FlashSaleRefused(
            _why_refused(sale, at=quote.at, quantity=quantity), reason="sold_out"
        )
    FlashSaleClaim.objects.create(
        sale_id=sale.id,
        order_id=order.order_id,
        order_no=order.order_no,
        buyer_id=order.buyer_id,
        quantity=quantity,
        amount=order.amount,
        cost=cost,
        claimed_at=order.at,
    )


def release_flash_sale(*, order_id: int, reason: str) -> None:
    """A cancelled or fully refunded order frees its units; idempotent."""
    if reason not in (CANCELLED, REFUNDED):
        return  # partial refund: the units stay sold (see the module's note)
    claims = list(
        FlashSaleClaim.objects.select_for_update().filter(
            order_id=order_id, released_at__isnull=True
        )
    )
    now = timezone.now()
    for claim in claims:
        FlashSaleBuyer.objects.filter(
            sale_id=claim.sale_id, buyer_id=claim.buyer_id
        ).update(bought=F("bought") - claim.quantity)
        FlashSale.objects.filter(pk=claim.sale_id).update(
            sold=F("sold") - claim.quantity,
            gmv=F("gmv") - claim.amount,
            cost=F("cost") - claim.cost,
        )
        claim.released_at, claim.release_reason = now, reason
        claim.save(update_fields=["released_at", "release_reason"])


register_benefit(
    Benefit(
        module=MODULE,
        layers=(LAYER,),
        claim=claim_flash_sale,
        release=release_flash_sale,
    )
)
