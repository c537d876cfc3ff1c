"""Product writes: status changes, scheduled listing, duplication.

Scheduling rule (list_at / unlist_at)
-------------------------------------
`apply_product_schedules()` runs every minute (beat). A schedule timestamp is a
one-shot instruction, consumed once its time has come:

* at `list_at` a draft, paused or unlisted product becomes listed, unless its
  `unlist_at` has also passed already (the window was missed: nothing is listed);
* at `unlist_at` a listed product becomes unlisted;
* either way the passed timestamp is cleared, whatever the product's status was.

One exception: a product with an active top-up SKU that does not ask for the
account it credits (`Sku.lacks_recharge_account`) is never listed, by hand or by
schedule. Its passed `list_at` is kept, so the list shows the missed time, and the
product lists itself within a minute of the SKU being fixed.

So the task never fights an operator: once a time has passed and was applied, a
status set by hand afterwards stays as it is. A manual status change does not clear
a *future* timestamp; to cancel a planned listing, clear the field.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from catalog.models import (
    CostPlusRule,
    LevelPrice,
    PriceChange,
    Product,
    QuantityTier,
    Sku,
)
from catalog.services.pricing import record_price_change
from kameng.exceptions import DomainError

LISTABLE_FROM = (Product.Status.DRAFT, Product.Status.PAUSED, Product.Status.UNLISTED)
COPY_SUFFIX = "-COPY"
logger = logging.getLogger(__name__)


class ProductStatusError(DomainError):
    code = "catalog_product_status"


def topups_without_account(*, product_ids: Iterable[int]) -> list[Sku]:
    """The active top-up SKUs of these products that cannot be sold because they
    do not ask for the account they credit, by code."""
    candidates = Sku.objects.filter(
        product_id__in=list(product_ids),
        is_active=True,
        delivery_type=Sku.DeliveryType.TOPUP,
    ).order_by("code")
    return [sku for sku in candidates if sku.lacks_recharge_account()]


@transaction.atomic
def set_product_status(*, products: Iterable[Product], status: str, actor=None) -> int:
    """Set the status of several products at once; returns how many changed.
    Listing is refused (nothing changes) while any of them has a top-up SKU
    without a recharge field for the account it credits."""
    if status not in Product.Status.values:
        raise ProductStatusError(
            gettext("Unknown product status %(status)s.") % {"status": status}
        )
    ids = [p.pk for p in products]
    if status == Product.Status.LISTED:
        blocked = topups_without_account(product_ids=ids)
        if blocked:
            raise ProductStatusError(
                gettext(
                    "Nothing was listed: top-up SKU %(skus)s does not ask for the "
                    "account it credits. Add a required recharge field on the SKU "
                    "page first."
                )
                % {"skus": ", ".join(sku.code for sku in blocked[:20])},
                skus=[sku.code for sku in blocked],
            )
    changed = (
        Product.objects.filter(pk__in=ids)
        .exclude(status=status)
        .update(status=status, updated_at=timezone.now())
    )
    logger.info(
        "product status set",
        extra={
            "status": status,
            "products": ids,
            "changed": changed,
            "actor": getattr(actor, "pk", None),
        },
    )
    return changed


@transaction.atomic
def apply_product_schedules(*, now: datetime | None = None) -> dict[str, int]:
    """List and unlist products whose scheduled time has come (see module doc)."""
    now = now or timezone.now()
    due = Product.objects.filter(list_at__lte=now, status__in=LISTABLE_FROM).filter(
        Q(unlist_at__isnull=True) | Q(unlist_at__gt=now)
    )
    blocked = {
        sku.product_id
        for sku in topups_without_account(product_ids=due.values_list("pk", flat=True))
    }
    if blocked:
        logger.warning(
            "scheduled listing held back: top-up SKUs without recharge fields",
            extra={"products": sorted(blocked)},
        )
    listed = due.exclude(pk__in=blocked).update(
        status=Product.Status.LISTED, list_at=None, updated_at=now
    )
    unlisted = Product.objects.filter(
        unlist_at__lte=now, status=Product.Status.LISTED
    ).update(status=Product.Status.UNLISTED, unlist_at=None, updated_at=now)
    # Passed times that changed nothing are consumed too (see module doc).
    consumed = (
        Product.objects.filter(list_at__lte=now)
        .exclude(pk__in=blocked)
        .update(list_at=None)
    )
    consumed += Product.objects.filter(unlist_at__lte=now).update(unlist_at=None)
    return {
        "listed": listed,
        "unlisted": unlisted,
        "cleared": consumed,
        "held": len(blocked),
    }


def _free_copy_code(code: str, taken: set[str]) -> str:
    n = 1
    while True:
        suffix = COPY_SUFFIX if n == 1 else f"{COPY_SUFFIX}{n}"
        candidate = code[: 40 - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


@transaction.atomic
def duplicate_product(*, product: Product, actor=None) -> Product:
    """A draft copy of a product with copies of its SKUs (new codes <CODE>-COPY),
    their prices, member-level prices, quantity tiers and cost-plus rule.
    No card codes, stock, supplier offers or schedule are copied."""
    source = Product.objects.get(pk=product.pk)
    copy = Product.objects.create(
        category_id=source.category_id,
        name=(gettext("%(name)s (copy)") % {"name": source.name})[:120],
        description=source.description,
        status=Product.Status.DRAFT,
        image=source.image.name if source.image else "",
    )
    skus = list(Sku.objects.filter(product=source).order_by("id"))
    taken = set(
        Sku.objects.filter(code__contains=COPY_SUFFIX).values_list("code", flat=True)
    )
    for sku in skus:
        new_code = _free_copy_code(sku.code, taken)
        taken.add(new_code)
        new = Sku.objects.create(
            product=copy,
            code=new_code,
            name=sku.name,
            face_value=sku.face_value,
            delivery_type=sku.delivery_type,
            stock_mode=sku.stock_mode,
            stock=0,
            low_stock_threshold=sku.low_stock_threshold,
            reusable_code=sku.reusable_code,
            min_quantity=sku.min_quantity,
            max_quantity=sku.max_quantity,
            specs=sku.specs,
            recharge_fields=sku.recharge_fields,
            price=sku.price,
            cost_price=sku.cost_price,
            is_active=sku.is_active,
        )
        note = gettext("Copied from %(code)s") % {"code": sku.code}
        record_price_change(
            sku=new,
            layer="base",
            old=None,
            new=new.price,
            cause=PriceChange.Cause.MANUAL,
            actor=actor,
            note=note,
        )
        LevelPrice.objects.bulk_create(
            LevelPrice(sku=new, level_id=row.level_id, price=row.price)
            for row in sku.level_prices.all()
        )
        QuantityTier.objects.bulk_create(
            QuantityTier(sku=new, min_quantity=row.min_quantity, price=row.price)
            for row in sku.quantity_tiers.all()
        )
        rule = CostPlusRule.objects.filter(sku=sku).first()
        if rule is not None:
            CostPlusRule.objects.create(
                sku=new,
                margin_percent=rule.margin_percent,
                floor=rule.floor,
                ceiling=rule.ceiling,
                rounding=rule.rounding,
                enabled=rule.enabled,
            )
    return copy
