"""Imports: card codes (卡密) in batches, and the product catalogue.

Card codes go through three steps, each a service here:

1. `preview_card_batch` reads the whole file (nothing about codes is written),
   stores it on a new CardBatch (status previewed) with the counts and row errors
   the preview page shows. A file that is wrong as a whole raises FileRejected and
   leaves nothing behind.
2. `commit_card_batch` marks the batch queued and, after commit, enqueues the
   import task with the batch id.
3. `run_card_batch` (the task; also the command line and the benchmark) reads the
   stored file again and, in ONE transaction, inserts the new codes with bulk
   inserts, moves Sku.stock with F() and records the counts: all or nothing.
   It is a no-op unless the batch is queued, so a repeated message is harmless.
   Once imported, the stored upload (plaintext codes) is deleted.

`void_card_batch` voids the unsold codes of an imported batch and takes them off
the stock in the same transaction.

Stored text of a code: the card alone, or "card password" joined by one space
(catalog.imports.codes). secret = encrypt(text), code_hash = code_hash(text)
(unique over the whole table: a code already present anywhere is a duplicate),
hint = mask(text), key_version = the current key.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import PurePath

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from catalog.imports.codes import ParsedCode, parse_code_rows
from catalog.imports.errors import FileRejected, ImportStateError, RowError
from catalog.imports.products import DEFAULT_STOCK, ProductRow, parse_product_rows
from catalog.imports.readers import (
    check_size,
    detect_format,
    iter_rows,
    raw_file,
)
from catalog.models import CardBatch, CardCode, Category, PriceChange, Product, Sku
from catalog.services.pricing import record_price_change
from kameng import crypto

logger = logging.getLogger(__name__)

CHUNK = 2000
ERRORS_KEPT = 500
PROGRESS_TIMEOUT = 6 * 3600


# --- scanning a code file -------------------------------------------------------------


@dataclass
class CodeScan:
    """What a pass over a code file found (and, when importing, inserted)."""

    total_rows: int = 0
    new: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[dict] = field(default_factory=list)
    report: Callable[[RowError], None] | None = None

    def add(self, error: RowError) -> None:
        if error.kind == "duplicate":
            self.duplicates += 1
        else:
            self.rejected += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append(error.as_dict())
        if self.report is not None:
            self.report(error)


def _check_card_sku(sku: Sku) -> None:
    if sku.delivery_type != Sku.DeliveryType.CARD:
        raise FileRejected(
            _(
                "SKU %(sku)s is not delivered with card codes (delivery type: "
                "%(type)s); only card SKUs take codes."
            )
            % {"sku": sku.code, "type": sku.get_delivery_type_display()}
        )


def _check_reusable(sku: Sku, new: int, available: int | None = None) -> None:
    """A reusable-code SKU sells its one code to every buyer: exactly one
    available code, never a second. `available` excludes the `new` ones."""
    if not sku.reusable_code:
        return
    if available is None:
        available = CardCode.objects.filter(
            sku_id=sku.pk, status=CardCode.Status.AVAILABLE
        ).count()
    if available + new > 1:
        raise FileRejected(
            _(
                "SKU %(sku)s sells one reusable code to every buyer, so it takes "
                "exactly one available code; it has %(available)s and this file "
                "adds %(new)s. Void the old code first, or import one code."
            )
            % {"sku": sku.code, "available": available, "new": new}
        )


def _scan_codes(
    raw,
    fmt: str,
    *,
    scan: CodeScan,
    insert: Callable[[list[tuple[int, str, str]]], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> CodeScan:
    """One streaming pass: parse, dedupe within the file (by hash) and against
    the table (hashes checked CHUNK at a time), and hand each chunk of new codes
    to `insert` (None for a preview)."""
    card_field = _("card number")
    seen: dict[str, int] = {}
    pending: list[tuple[int, str, str]] = []

    def flush() -> None:
        if not pending:
            return
        hashes = [code_hash for _row, _text, code_hash in pending]
        existing = dict(
            CardCode.objects.filter(code_hash__in=hashes).values_list(
                "code_hash", "batch_id"
            )
        )
        fresh = []
        for row, text, code_hash in pending:
            batch_id = existing.get(code_hash)
            if batch_id is not None:
                scan.add(
                    RowError(
                        row,
                        card_field,
                        _("is already in stock (batch #%(batch)s)")
                        % {"batch": batch_id},
                        "duplicate",
                    )
                )
            else:
                fresh.append((row, text, code_hash))
        scan.new += len(fresh)
        if insert is not None and fresh:
            insert(fresh)
        pending.clear()
        if progress is not None:
            progress(scan.total_rows)

    for item in parse_code_rows(iter_rows(raw, fmt), fmt):
        scan.total_rows += 1
        if isinstance(item, RowError):
            scan.add(item)
            continue
        assert isinstance(item, ParsedCode)
        code_hash = crypto.code_hash(item.text)
        first_row = seen.get(code_hash)
        if first_row is not None:
            scan.add(
                RowError(
                    item.row,
                    card_field,
                    _("repeats row %(row)s of this file") % {"row": first_row},
                    "duplicate",
                )
            )
            continue
        seen[code_hash] = item.row
        pending.append((item.row, item.text, code_hash))
        if len(pending) >= CHUNK:
            flush()
    flush()
    scan.errors.sort(key=lambda error: error["row"])
    return scan


class _ErrorReport:
    """All row errors of a pass, as a CSV (UTF-8 with BOM: Excel opens it with the
    Chinese intact) in a temporary file."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(mode="w+", encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.file)
        self.writer.writerow([_("Row"), _("Field"), _("Reason"), _("Type")])
        self.kinds = {"duplicate": _("Duplicate"), "rejected": _("Rejected")}
        self.count = 0

    def __call__(self, error: RowError) -> None:
        self.count += 1
        self.writer.writerow(
            [error.row, error.field, error.reason, self.kinds.get(error.kind, "")]
        )

    def attach(self, batch: CardBatch) -> None:
        if batch.error_report:
            batch.error_report.delete(save=False)
        if not self.count:
            return
        self.file.flush()
        self.file.seek(0)
        batch.error_report.save(
            f"batch-{batch.pk}-errors.csv", File(self.file.buffer), save=False
        )

    def close(self) -> None:
        self.file.close()


def _open_upload(upload, name: str):
    check_size(getattr(upload, "size", None))
    raw = raw_file(upload)
    return raw, detect_format(name, raw)


def scan_card_file(*, sku: Sku, upload, name: str | None = None) -> CodeScan:
    """Read a code file without writing anything (preview, --dry-run)."""
    _check_card_sku(sku)
    name = name or getattr(upload, "name", "") or ""
    raw, fmt = _open_upload(upload, name)
    scan = _scan_codes(raw, fmt, scan=CodeScan())
    _check_scan(sku, scan)
    return scan


def _check_scan(sku: Sku, scan: CodeScan) -> None:
    if scan.total_rows == 0:
        raise FileRejected(_("The file holds no codes."))
    _check_reusable(sku, scan.new)


# --- the three steps ------------------------------------------------------------------


def preview_card_batch(*, sku: Sku, upload, actor) -> CardBatch:
    """Read the file, store it on a new previewed batch with its counts and row
    errors; FileRejected (nothing stored) when the file is unusable."""
    _check_card_sku(sku)
    name = PurePath(getattr(upload, "name", "") or "codes").name
    raw, fmt = _open_upload(upload, name)
    report = _ErrorReport()
    try:
        scan = _scan_codes(raw, fmt, scan=CodeScan(report=report))
        _check_scan(sku, scan)
        with transaction.atomic():
            batch = CardBatch(
                sku=sku,
                file_name=name[:200],
                file_format=fmt,
                status=CardBatch.Status.PREVIEWED,
                total_rows=scan.total_rows,
                duplicates=scan.duplicates,
                rejected=scan.rejected,
                errors=scan.errors,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            batch.save()
            raw.seek(0)
            batch.upload.save(f"batch-{batch.pk}.{fmt}", File(raw), save=False)
            report.attach(batch)
            batch.save(update_fields=["upload", "error_report"])
    finally:
        report.close()
    return batch


def to_import(batch: CardBatch) -> int:
    """Codes the previewed file would add."""
    return max(0, batch.total_rows - batch.duplicates - batch.rejected)


@transaction.atomic
def commit_card_batch(*, batch: CardBatch, actor, enqueue: bool = True) -> CardBatch:
    """Queue a previewed batch for import; the task starts after commit."""
    batch = CardBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != CardBatch.Status.PREVIEWED:
        raise ImportStateError(
            _("Batch #%(batch)s is %(status)s; only a previewed batch is imported.")
            % {"batch": batch.pk, "status": batch.get_status_display()}
        )
    if to_import(batch) == 0:
        raise ImportStateError(_("This file adds no new codes; nothing to import."))
    batch.status = CardBatch.Status.QUEUED
    batch.processed_rows = 0
    batch.save(update_fields=["status", "processed_rows"])
    if enqueue:
        from catalog.tasks.imports import import_card_batch_task

        batch_id = batch.pk
        transaction.on_commit(lambda: import_card_batch_task.delay(batch_id))
    return batch


@transaction.atomic
def discard_card_batch(*, batch: CardBatch, actor) -> None:
    """Drop a previewed batch and its stored file (nothing was imported)."""
    batch = CardBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != CardBatch.Status.PREVIEWED:
        raise ImportStateError(_("Only a previewed batch can be discarded."))
    upload, report = batch.upload, batch.error_report
    batch.delete()
    transaction.on_commit(lambda: _delete_files(upload, report))


def _delete_files(*files) -> None:
    for stored in files:
        if stored:
            stored.storage.delete(stored.name)


def progress_key(batch_id: int) -> str:
    return f"catalog:cardbatch:{batch_id}:progress"


def batch_progress(batch: CardBatch) -> tuple[int, int]:
    """(rows processed, percent) as the progress bar shows them. While the import
    transaction runs, its progress lives in the cache (the rows are not visible
    to other connections until it commits)."""
    processed = batch.processed_rows
    if batch.status == CardBatch.Status.IMPORTING:
        processed = int(cache.get(progress_key(batch.pk)) or 0)
    elif batch.status in (CardBatch.Status.DONE, CardBatch.Status.VOIDED):
        processed = batch.total_rows
    percent = 0
    if batch.total_rows:
        percent = min(100, processed * 100 // batch.total_rows)
    elif batch.status == CardBatch.Status.DONE:
        percent = 100
    return processed, percent


def run_card_batch(*, batch_id: int) -> CardBatch | None:
    """Import a queued batch (the Celery task's body). No-op unless queued."""
    started = CardBatch.objects.filter(
        pk=batch_id, status=CardBatch.Status.QUEUED
    ).update(status=CardBatch.Status.IMPORTING)
    if not started:
        return CardBatch.objects.filter(pk=batch_id).first()
    cache.set(progress_key(batch_id), 0, PROGRESS_TIMEOUT)
    try:
        return _import_batch(batch_id)
    except FileRejected as exc:
        return _fail(batch_id, exc.message)
    except Exception:
        # Logged with its traceback; the batch page shows the failure, and the
        # transaction rolled back, so nothing was imported.
        logger.exception("card batch %s failed", batch_id)
        return _fail(
            batch_id,
            _("The import stopped on an unexpected error; nothing was imported."),
        )


def _fail(batch_id: int, message) -> CardBatch:
    # Only a batch still importing: once the import committed (DONE), a later
    # error (e.g. in the cleanup) must not report "nothing was imported".
    CardBatch.objects.filter(pk=batch_id, status=CardBatch.Status.IMPORTING).update(
        status=CardBatch.Status.FAILED,
        failure=str(message),
        finished_at=timezone.now(),
    )
    cache.delete(progress_key(batch_id))
    return CardBatch.objects.get(pk=batch_id)


def _import_batch(batch_id: int) -> CardBatch:
    report = _ErrorReport()
    try:
        with transaction.atomic():
            batch = CardBatch.objects.select_for_update().get(pk=batch_id)
            # The SKU row lock serialises imports and voids of one SKU.
            sku = Sku.objects.select_for_update().get(pk=batch.sku_id)
            _check_card_sku(sku)
            key_version = crypto.current_key_version()

            def insert(fresh: list[tuple[int, str, str]]) -> None:
                _insert_codes(
                    fresh, sku_id=sku.pk, batch_id=batch.pk, key_version=key_version
                )

            def progress(rows: int) -> None:
                cache.set(progress_key(batch.pk), rows, PROGRESS_TIMEOUT)

            with batch.upload.open("rb") as upload:
                scan = _scan_codes(
                    raw_file(upload),
                    batch.file_format,
                    scan=CodeScan(report=report),
                    insert=insert,
                    progress=progress,
                )
            if scan.total_rows == 0:
                raise FileRejected(_("The file holds no codes."))
            # Codes another import inserted between our check and our insert were
            # skipped by ON CONFLICT DO NOTHING: count what really went in.
            imported = CardCode.objects.filter(batch_id=batch.pk).count()
            scan.duplicates += scan.new - imported
            if sku.reusable_code:  # raises (and rolls back) on a second code
                available = CardCode.objects.filter(
                    sku_id=sku.pk, status=CardCode.Status.AVAILABLE
                ).count()
                _check_reusable(sku, imported, available - imported)
            if sku.stock_mode == Sku.StockMode.CODES and imported:
                Sku.objects.filter(pk=sku.pk).update(stock=F("stock") + imported)
            batch.status = CardBatch.Status.DONE
            batch.total_rows = batch.processed_rows = scan.total_rows
            batch.imported = imported
            batch.duplicates = scan.duplicates
            batch.rejected = scan.rejected
            batch.errors = scan.errors
            batch.finished_at = timezone.now()
            batch.failure = ""
            report.attach(batch)
            batch.save()
    finally:
        report.close()
    # The import has committed: a failure from here on is logged, never turned
    # into a failed batch.
    try:
        cache.delete(progress_key(batch_id))
    except Exception:
        logger.exception("card batch %s: dropping the progress key failed", batch_id)
    # The codes now live encrypted in the table: drop the plaintext upload.
    if batch.upload:
        try:
            batch.upload.delete(save=False)
            CardBatch.objects.filter(pk=batch.pk).update(upload="")
        except Exception:
            logger.exception("card batch %s: deleting the upload failed", batch_id)
    return batch


def _insert_codes(
    fresh: list[tuple[int, str, str]], *, sku_id: int, batch_id: int, key_version: str
) -> None:
    """Encrypt and insert one chunk; a code inserted meanwhile by another import
    is skipped (ON CONFLICT DO NOTHING), never an error that aborts the batch.

    On PostgreSQL one INSERT … SELECT FROM unnest(arrays) per chunk: no model
    instances, three array parameters. Elsewhere bulk_create(ignore_conflicts).
    """
    secrets_, hashes, hints = [], [], []
    for _row, text, code_hash in fresh:
        secrets_.append(crypto.encrypt(text))
        hashes.append(code_hash)
        hints.append(crypto.mask(text))
    if connection.vendor == "postgresql":
        meta = CardCode._meta
        column = {f.name: f.column for f in meta.concrete_fields}
        sql = (
            f'INSERT INTO "{meta.db_table}" ("{column["sku"]}", "{column["batch"]}", '
            f'"{column["secret"]}", "{column["code_hash"]}", '
            f'"{column["key_version"]}", "{column["hint"]}", "{column["status"]}", '
            f'"{column["order_ref"]}", "{column["created_at"]}") '
            "SELECT %s, %s, t.secret, t.code_hash, %s, t.hint, %s, '', %s "
            "FROM unnest(%s::text[], %s::text[], %s::text[]) "
            "AS t(secret, code_hash, hint) "
            f'ON CONFLICT ("{column["code_hash"]}") DO NOTHING'
        )
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                [
                    sku_id,
                    batch_id,
                    key_version,
                    CardCode.Status.AVAILABLE,
                    timezone.now(),
                    secrets_,
                    hashes,
                    hints,
                ],
            )
        return
    CardCode.objects.bulk_create(
        [
            CardCode(
                sku_id=sku_id,
                batch_id=batch_id,
                secret=secret,
                code_hash=code_hash,
                key_version=key_version,
                hint=hint,
            )
            for secret, code_hash, hint in zip(secrets_, hashes, hints, strict=True)
        ],
        batch_size=CHUNK,
        ignore_conflicts=True,
    )


@transaction.atomic
def void_card_batch(*, batch: CardBatch, actor) -> CardBatch:
    """Void the unsold codes of an imported batch; sold codes stay sold. The SKU's
    code stock goes down by the number voided, in the same transaction."""
    batch = CardBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != CardBatch.Status.DONE:
        raise ImportStateError(
            _("Batch #%(batch)s is %(status)s; only an imported batch can be voided.")
            % {"batch": batch.pk, "status": batch.get_status_display()}
        )
    sku = Sku.objects.select_for_update().get(pk=batch.sku_id)
    voided = CardCode.objects.filter(
        batch_id=batch.pk, status=CardCode.Status.AVAILABLE
    ).update(status=CardCode.Status.VOID)
    if sku.stock_mode == Sku.StockMode.CODES and voided:
        Sku.objects.filter(pk=sku.pk).update(stock=F("stock") - voided)
    batch.status = CardBatch.Status.VOIDED
    batch.voided = voided
    batch.voided_by = actor if getattr(actor, "pk", None) else None
    batch.voided_at = timezone.now()
    batch.save(update_fields=["status", "voided", "voided_by", "voided_at"])
    return batch


# --- products ----------------------------------------------------------------------


@dataclass
class ProductPlan:
    """What committing one valid row will do."""

    row: ProductRow
    action: str  # "create", "update" or "unchanged"
    sku: Sku | None = None
    changes: list[str] = field(default_factory=list)
    old_price: Decimal | None = None


@dataclass
class ProductPreview:
    plans: list[ProductPlan] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    total_rows: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.plans) and not self.errors

    def counts(self) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for plan in self.plans:
            counts[
                {"create": "created", "update": "updated"}.get(plan.action, "unchanged")
            ] += 1
        return counts


SKU_FIELDS = (
    ("name", "spec"),
    ("face_value", "face_value"),
    ("delivery_type", "delivery_type"),
    ("stock_mode", "stock_mode"),
    ("price", "price"),
    ("cost_price", "cost_price"),
    ("min_quantity", "min_quantity"),
    ("max_quantity", "max_quantity"),
)


def _sku_values(row: ProductRow, existing: Sku | None, can_cost: bool) -> dict:
    """The SKU fields this row sets; blanks keep what an existing SKU has."""
    values = {
        "name": row.spec,
        "face_value": row.face_value,
        "delivery_type": row.delivery_type,
        "price": row.price,
    }
    values["stock_mode"] = row.stock_mode or (
        existing.stock_mode
        if existing is not None and existing.delivery_type == row.delivery_type
        else DEFAULT_STOCK[row.delivery_type]
    )
    if can_cost and row.cost_price is not None:
        values["cost_price"] = row.cost_price
    for name in ("min_quantity", "max_quantity"):
        value = getattr(row, name)
        if value is not None:
            values[name] = value
        elif existing is None:
            values[name] = {"min_quantity": 1, "max_quantity": 100}[name]
    return values


def _plan_products(rows, *, actor, lock: bool) -> ProductPreview:
    preview = ProductPreview()
    valid: list[ProductRow] = []
    seen: dict[str, int] = {}
    sku_label = _("SKU code")
    for item in parse_product_rows(rows):
        preview.total_rows += 1
        if isinstance(item, list):
            preview.errors.extend(item)
            continue
        first = seen.get(item.sku_code.upper())
        if first is not None:
            preview.errors.append(
                RowError(
                    item.row,
                    sku_label,
                    _("repeats row %(row)s of this file") % {"row": first},
                )
            )
            continue
        seen[item.sku_code.upper()] = item.row
        valid.append(item)
    if preview.total_rows == 0:
        raise FileRejected(_("The file holds no products."))
    can_cost = bool(actor is not None and actor.has_perm("catalog.view_cost"))
    if not can_cost and any(row.cost_price is not None for row in valid):
        preview.notices.append(
            _("The cost price column is ignored: you may not set cost prices.")
        )
    codes = [row.sku_code for row in valid]
    existing: dict[str, Sku] = {}
    queryset = Sku.objects.select_related("product__category")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    for start in range(0, len(codes), 1000):
        for sku in queryset.filter(code__in=codes[start : start + 1000]):
            existing[sku.code] = sku
    with_codes = (
        set(
            CardCode.objects.filter(sku__in=list(existing.values()))
            .values_list("sku_id", flat=True)
            .distinct()
        )
        if existing
        else set()
    )
    # Every existing SKU's category path, from one query for the whole tree.
    tree = _category_tree() if existing else {}
    for row in valid:
        sku = existing.get(row.sku_code)
        values = _sku_values(row, sku, can_cost)
        if sku is None:
            preview.plans.append(ProductPlan(row=row, action="create"))
            continue
        changes = [
            str(Sku._meta.get_field(name).verbose_name)
            for name, _source in SKU_FIELDS
            if name in values and getattr(sku, name) != values[name]
        ]
        product = sku.product
        if (
            product.name != row.product
            or _category_path(product.category_id, tree) != row.category_path
        ):
            changes.insert(0, str(_("product")))
        if sku.pk in with_codes and (
            values["delivery_type"] != sku.delivery_type
            or values["stock_mode"] != sku.stock_mode
        ):
            preview.errors.append(
                RowError(
                    row.row,
                    str(_("delivery type")),
                    _(
                        "SKU %(sku)s has card codes; change its delivery type or "
                        "stock mode on the SKU page, not by import"
                    )
                    % {"sku": sku.code},
                )
            )
            continue
        if sku.reusable_code and values["delivery_type"] != Sku.DeliveryType.CARD:
            preview.errors.append(
                RowError(
                    row.row,
                    str(_("delivery type")),
                    _("SKU %(sku)s sells a reusable code; it must stay a card SKU")
                    % {"sku": sku.code},
                )
            )
            continue
        low = values.get("min_quantity", sku.min_quantity)
        high = values.get("max_quantity", sku.max_quantity)
        if high < low:
            preview.errors.append(
                RowError(
                    row.row,
                    str(_("maximum per order")),
                    _("is smaller than the minimum"),
                )
            )
            continue
        preview.plans.append(
            ProductPlan(
                row=row,
                action="update" if changes else "unchanged",
                sku=sku,
                changes=changes,
                old_price=sku.price,
            )
        )
    preview.errors.sort(key=lambda error: error.row)
    return preview


def _category_tree() -> dict[int, tuple[str, int | None]]:
    """{pk: (name, parent id)} of every category (one query)."""
    return {
        pk: (name, parent_id)
        for pk, name, parent_id in Category.objects.order_by().values_list(
            "pk", "name", "parent_id"
        )
    }


def _category_path(
    category_id: int | None, tree: dict[int, tuple[str, int | None]]
) -> tuple[str, ...]:
    """Names from the root down to the category, from _category_tree() (no query)."""
    names = []
    seen = set()
    while category_id is not None and category_id not in seen and category_id in tree:
        seen.add(category_id)
        name, parent_id = tree[category_id]
        names.append(name)
        category_id = parent_id
    return tuple(reversed(names))


def _open_product_file(upload, name: str):
    raw, fmt = _open_upload(upload, name)
    if fmt == "txt":
        raise FileRejected(_("Products are imported from the xlsx template or a CSV."))
    return iter_rows(raw, fmt)


def preview_products(*, upload, name: str, actor) -> ProductPreview:
    """Check every row of a product file; writes nothing."""
    return _plan_products(_open_product_file(upload, name), actor=actor, lock=False)


def _category_for(
    path: tuple[str, ...], known: dict[tuple[str, ...], Category]
) -> Category:
    """The category at path, created level by level where missing. `known`
    remembers every level found or created (path prefix → category), so a
    path or prefix is looked up once per import."""
    parent = None
    for depth, name in enumerate(path, start=1):
        prefix = path[:depth]
        category = known.get(prefix)
        if category is None:
            category = Category.objects.filter(parent=parent, name=name).first()
        if category is None:
            digest = hashlib.sha1("/".join(prefix).encode()).hexdigest()[:8]
            base = (slugify(name) or "cat")[:40]
            slug = f"{base}-{digest}"
            suffix = 1
            while Category.objects.filter(slug=slug).exists():
                suffix += 1
                slug = f"{base}-{digest}-{suffix}"
            category = Category.objects.create(parent=parent, name=name, slug=slug)
        known[prefix] = category
        parent = category
    return parent


@transaction.atomic
def import_products(*, upload, name: str, actor) -> ProductPreview:
    """Create or update every SKU of the file in one transaction; any row error
    imports nothing (FileRejected). Price changes are recorded as PriceChange
    rows with cause=import; cost prices only for actors with catalog.view_cost."""
    preview = _plan_products(_open_product_file(upload, name), actor=actor, lock=True)
    if preview.errors:
        raise FileRejected(
            _("%(count)s rows have errors; nothing was imported.")
            % {"count": len(preview.errors)}
        )
    if not preview.plans:
        raise FileRejected(_("The file holds no products."))
    can_cost = bool(actor is not None and actor.has_perm("catalog.view_cost"))
    note = _("Product import: %(file)s") % {"file": name[:150]}
    products: dict[tuple, Product] = {}
    categories: dict[tuple[str, ...], Category] = {}
    for plan in preview.plans:
        if plan.action == "unchanged":
            continue
        row = plan.row
        key = (row.category_path, row.product)
        product = products.get(key)
        if product is None:
            category = _category_for(row.category_path, categories)
            product = Product.objects.filter(
                category=category, name=row.product
            ).first()
            if product is None:
                product = Product.objects.create(
                    category=category, name=row.product, status=Product.Status.DRAFT
                )
            products[key] = product
        values = _sku_values(row, plan.sku, can_cost)
        sku = plan.sku or Sku(code=row.sku_code)
        old_price = plan.sku.price if plan.sku else None
        old_cost = plan.sku.cost_price if plan.sku else None
        sku.product = product
        for field_name, value in values.items():
            setattr(sku, field_name, value)
        try:
            sku.full_clean(validate_unique=plan.sku is None)
        except ValidationError as exc:
            raise FileRejected(
                _("Row %(row)s: %(error)s; nothing was imported.")
                % {"row": row.row, "error": "; ".join(exc.messages)}
            ) from exc
        sku.save()
        record_price_change(
            sku=sku,
            layer="base",
            old=old_price,
            new=sku.price,
            cause=PriceChange.Cause.IMPORT,
            actor=actor,
            note=note,
        )
        if can_cost and "cost_price" in values:
            record_price_change(
                sku=sku,
                layer="cost",
                old=old_cost,
                new=sku.cost_price,
                cause=PriceChange.Cause.IMPORT,
                actor=actor,
                note=note,
            )
    return preview


# --- sweeper -----------------------------------------------------------------------

STALE_PREVIEW_HOURS = 24
LOST_QUEUE_MINUTES = 5


def sweep_card_batches(*, now=None) -> dict[str, int]:
    """Periodic hygiene: re-enqueue batches left queued by a lost message (the
    task is a no-op unless queued, so a duplicate is harmless) and discard
    previews nobody committed within a day (their upload is plaintext codes)."""
    from catalog.tasks.imports import import_card_batch_task

    now = now or timezone.now()
    queued = list(
        CardBatch.objects.filter(
            status=CardBatch.Status.QUEUED,
            created_at__lt=now - timedelta(minutes=LOST_QUEUE_MINUTES),
        ).values_list("pk", flat=True)[:100]
    )
    for batch_id in queued:
        import_card_batch_task.delay(batch_id)
    stale = CardBatch.objects.filter(
        status=CardBatch.Status.PREVIEWED,
        created_at__lt=now - timedelta(hours=STALE_PREVIEW_HOURS),
    )[:500]
    discarded = 0
    for batch in stale:
        try:
            discard_card_batch(batch=batch, actor=None)
        except ImportStateError:
            continue  # committed meanwhile
        discarded += 1
    return {"requeued": len(queued), "discarded": discarded}
