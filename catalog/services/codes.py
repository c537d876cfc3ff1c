"""Card codes after import: revealing one to staff, selling, stock reconciliation
and re-encryption under a new key.

Stock rule for SKUs with stock_mode "codes": Sku.stock is the number of available
codes, moved with F() in the same transaction that inserts, sells or voids codes.
A reusable-code SKU sells its one available code to every buyer, so a sale leaves
the code available and the stock unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.exceptions import NotEnoughCodes
from catalog.models import CardCode, CodeReveal, Sku, SkuSalesDay
from kameng import audit, crypto
from kameng.db import joins_transaction


@transaction.atomic
def reveal_code(*, code: CardCode, actor, reason: str = "", ip_address=None) -> str:
    """The code in clear text, for a member of staff holding catalog.reveal_cardcode.
    Every reveal writes an audit row (who, which code, when, from where)."""
    if not actor.has_perm("catalog.reveal_cardcode"):
        raise PermissionDenied(_("You may not reveal card codes."))
    CodeReveal.objects.create(
        code=code, actor=actor, reason=reason[:200], ip_address=ip_address
    )
    audit.record(
        actor=actor, action="code.reveal", obj=code, ip=ip_address, note=reason
    )
    return crypto.decrypt(code.secret)


@dataclass(frozen=True)
class SoldCode:
    id: int
    secret: str

    @property
    def text(self) -> str:
        """Decrypted on demand: the paying transaction itself never needs it."""
        return crypto.decrypt(self.secret)


@joins_transaction  # raises NotEnoughCodes before it writes anything
def take_codes(
    *, sku: Sku, quantity: int, order_ref: str, count: bool = True
) -> list[SoldCode]:
    """Mark `quantity` codes of `sku` sold to `order_ref` and return them.

    Meant to run inside the transaction that marks the order paid: the codes are
    locked with FOR UPDATE SKIP LOCKED, so two buyers paying at the same moment
    never get the same code and never wait for each other. Raises NotEnoughCodes
    (and changes nothing) when fewer are available.

    With count=False the caller moves the SKU's counters itself with count_sale()
    as the last statement of its transaction: the stock and daily-sales rows are
    the only rows every buyer of a SKU locks, so the less happens between that
    update and the commit, the less the buyers queue behind each other.
    """
    if quantity < 1:
        raise ValueError("quantity must be positive")
    now = timezone.now()
    if sku.reusable_code:
        code = (  # never used up, so nothing to lock
            CardCode.objects.filter(sku_id=sku.pk, status=CardCode.Status.AVAILABLE)
            .order_by("id")
            .first()
        )
        if code is None:
            raise NotEnoughCodes(sku=sku.code, wanted=quantity, available=0)
        if count:
            count_sale(sku=sku, quantity=quantity, at=now)
        return [SoldCode(code.pk, code.secret)] * quantity

    codes = _lock_available(sku_id=sku.pk, quantity=quantity)
    if len(codes) < quantity:
        raise NotEnoughCodes(sku=sku.code, wanted=quantity, available=len(codes))
    ids = [pk for pk, _secret in codes]
    CardCode.objects.filter(pk__in=ids).update(
        status=CardCode.Status.SOLD, order_ref=order_ref, sold_at=now
    )
    if count:
        count_sale(sku=sku, quantity=quantity, at=now)
    return [SoldCode(pk, secret) for pk, secret in codes]


# The stock this sale leaves, read in the statement that moves it: under the SKU's
# row lock it is exact, whereas a value read earlier in the transaction can be many
# concurrent sales old. (Django's update() cannot return it; both Postgres and
# SQLite >= 3.35 know RETURNING.)
_COUNT_SALE_SQL = (
    f"UPDATE {Sku._meta.db_table} SET stock = stock - %s WHERE id = %s RETURNING stock"
)


def count_sale(*, sku: Sku, quantity: int, at=None) -> int | None:
    """Move the SKU's counters for a sale of card codes: stock (unless the code is
    reusable, which is never used up) and the daily-sales rollup. Returns the
    stock left after this sale (None for a reusable code)."""
    stock = None
    if not sku.reusable_code:
        with connection.cursor() as cursor:
            cursor.execute(_COUNT_SALE_SQL, [quantity, sku.pk])
            stock = cursor.fetchone()[0]
    record_sale(sku=sku, quantity=quantity, at=at)
    return stock


# On Postgres, "sku_id = x ... ORDER BY id" lets the planner walk the primary key
# and skip every sold code and every other SKU's code on the way once one SKU
# holds most of the table (measured: 12,000 rows skipped per pick at 1M codes,
# and growing with each sale). "sku_id = ANY(array) ORDER BY sku_id, id" keeps the
# ordering on the partial index of available codes: a pick reads a few pages
# whatever the size of the pool or its history (bench sale_pool).
def _pick_available_sql() -> str:
    column = {f.name: f.column for f in CardCode._meta.concrete_fields}
    return (
        f"SELECT {column['id']}, {column['secret']} FROM {CardCode._meta.db_table} "
        f"WHERE {column['sku']} = ANY(%s) "
        f"AND {column['status']} = '{CardCode.Status.AVAILABLE}' "
        f"ORDER BY {column['sku']}, {column['id']} LIMIT %s FOR UPDATE SKIP LOCKED"
    )


# Public: the benchmarks' SQL ceiling and query-plan probe run this very statement.
# Parameters: a list of SKU ids, the number of codes.
PICK_AVAILABLE_SQL = _pick_available_sql()


def _lock_available(*, sku_id: int, quantity: int) -> list[tuple[int, str]]:
    """The oldest `quantity` available codes of a SKU, locked, skipping codes
    another transaction holds."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(PICK_AVAILABLE_SQL, [[sku_id], quantity])
            return list(cursor.fetchall())
    return list(
        CardCode.objects.filter(sku_id=sku_id, status=CardCode.Status.AVAILABLE)
        .order_by("id")
        .select_for_update(skip_locked=True)
        .values_list("id", "secret")[:quantity]
    )


def record_sale(*, sku: Sku, quantity: int, at=None) -> None:
    """Add units to the SKU's daily sales rollup (inventory monitor, forecasts)."""
    day = timezone.localdate(at or timezone.now())
    updated = SkuSalesDay.objects.filter(sku_id=sku.pk, day=day).update(
        quantity=F("quantity") + quantity
    )
    if not updated:
        with transaction.atomic():
            _row, created = SkuSalesDay.objects.get_or_create(
                sku_id=sku.pk, day=day, defaults={"quantity": quantity}
            )
        if not created:
            SkuSalesDay.objects.filter(sku_id=sku.pk, day=day).update(
                quantity=F("quantity") + quantity
            )


def stock_drift(*, sku_ids=None) -> list[dict]:
    """SKUs whose stock counter disagrees with their available codes (one query).
    Empty when all is well; the consistency check and tests read it."""
    skus = Sku.objects.filter(stock_mode=Sku.StockMode.CODES, reusable_code=False)
    if sku_ids is not None:
        skus = skus.filter(pk__in=sku_ids)
    rows = skus.annotate(
        available=Count("card_codes", filter=Q(card_codes__status="available"))
    ).exclude(stock=F("available"))
    return [
        {"sku": row.code, "stock": row.stock, "available": row.available}
        for row in rows.only("code", "stock")
    ]


def rotate_keys(*, batch_size: int = 1000, limit: int | None = None) -> dict:
    """Re-encrypt codes not yet under the current key, in batches of short
    transactions; safe to stop and run again (it resumes by key_version).

    Returns {"rotated": n, "remaining": m}. Codes an unknown key made raise
    InvalidToken and stop the run: every old key must still be configured.
    """
    current = crypto.current_key_version()
    rotated = 0
    last_id = 0
    while limit is None or rotated < limit:
        size = batch_size if limit is None else min(batch_size, limit - rotated)
        with transaction.atomic():
            rows = list(
                CardCode.objects.select_for_update(skip_locked=True)
                .filter(id__gt=last_id)
                .exclude(key_version=current)
                .order_by("id")
                .values_list("id", "secret")[:size]
            )
            if not rows:
                break
            changed = [
                CardCode(id=pk, secret=crypto.rotate(secret), key_version=current)
                for pk, secret in rows
            ]
            CardCode.objects.bulk_update(changed, ["secret", "key_version"])
        rotated += len(rows)
        last_id = rows[-1][0]
    remaining = CardCode.objects.exclude(key_version=current).count()
    return {"rotated": rotated, "remaining": remaining}
