"""Card codes (卡密) imported in batches: upload, check, commit, import, void.

1. `upload_card_batch` (the web request) makes only the checks that need no
   parsing (card SKU, file size, file type, a workbook's unpacked size), and
   stores the file on a new batch in status "checking". The caller enqueues the
   check (catalog.tasks.imports).
2. `check_card_batch` (a worker) reads the whole file, writes nothing about
   codes, and records the counts and row errors the preview page shows: the
   batch becomes "previewed", or "failed" with the reason when the file is
   unusable as a whole. `preview_card_batch` runs both steps in-process (command
   line, demo, benchmark) and leaves nothing behind a rejected file.
3. `commit_card_batch` marks a previewed batch queued; the caller enqueues
   `run_card_batch`, which reads the stored file again and, in ONE transaction,
   inserts the new codes with bulk inserts, moves Sku.stock with F() and records
   the counts: all or nothing. It is a no-op unless the batch is queued.

The stored upload holds plaintext codes. It is deleted as soon as its batch
ends, in every way one ends: imported (done), failed (check or import), discarded
(the row goes), expired (a preview nobody committed within a day, discarded by
the sweeper). `sweep_orphan_files` removes stored files no batch refers to.

`void_card_batch` voids the unsold codes of an imported batch and takes them off
the stock in the same transaction.

Stored text of a code: the card alone, or "card password" joined by one space
(catalog.imports.codes). secret = encrypt(text), code_hash = code_hash(text)
(unique over the whole table: a code already present anywhere is a duplicate),
hint = mask(text), key_version = the current key.
"""

from __future__ import annotations

import csv
import logging
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.imports.codes import ParsedCode, parse_code_rows
from catalog.imports.errors import FileRejected, ImportStateError, RowError
from catalog.imports.readers import (
    Limits,
    check_file,
    check_size,
    detect_format,
    iter_rows,
    raw_file,
)
from catalog.models import CardBatch, CardCode, Sku
from catalog.selectors.imports import (
    PROGRESS_TIMEOUT,
    live_stored_files,
    progress_key,
    to_import,
)
from kameng import crypto
from kameng.spreadsheet import spreadsheet_row

logger = logging.getLogger(__name__)

CHUNK = 2000
ERRORS_KEPT = 500  # on the batch, shown on its page
STALE_PREVIEW_HOURS = 24
LOST_MESSAGE_MINUTES = 5
# A check still running is never sent twice: its task is killed at 16 minutes.
LOST_CHECK_MINUTES = 20
# A check or an import still unfinished this long after it started lost its
# worker (the tasks are killed after 16 and 32 minutes; an import's transaction
# rolled back with it): the batch fails and its plaintext upload goes.
STUCK_HOURS = 2
# A stored file younger than this is left alone by the orphan sweep: its batch
# row may not be committed yet.
ORPHAN_GRACE_HOURS = 1
CODE_FILES_DIR = "imports/codes"
REPORT_FILES_DIR = "imports/reports"


def report_max_errors() -> int:
    """Rows an error report lists (CARD_IMPORT_REPORT_MAX_ERRORS); the rest are
    counted, not listed, so a file of millions of bad rows gives a small report."""
    return int(getattr(settings, "CARD_IMPORT_REPORT_MAX_ERRORS", 10_000))


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
    limits: Limits,
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

    for item in parse_code_rows(iter_rows(raw, fmt, limits=limits), fmt):
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


class ErrorReport:
    """The row errors of a pass as a CSV (UTF-8 with BOM: Excel opens it with
    the Chinese intact) in a temporary file: the first `limit` rows, then the
    count of each kind, and how many rows were left out."""

    def __init__(self, limit: int | None = None) -> None:
        self.file = tempfile.TemporaryFile(mode="w+", encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.file)
        self.writer.writerow([_("Row"), _("Field"), _("Reason"), _("Type")])
        self.kinds = {"duplicate": _("Duplicate"), "rejected": _("Rejected")}
        self.limit = report_max_errors() if limit is None else limit
        self.counts: Counter[str] = Counter()

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    def __call__(self, error: RowError) -> None:
        self.counts[error.kind] += 1
        if self.count <= self.limit:
            self.writer.writerow(
                spreadsheet_row(
                    [
                        error.row,
                        error.field,
                        error.reason,
                        self.kinds.get(error.kind, ""),
                    ]
                )
            )

    def _write_totals(self) -> None:
        for kind, label in self.kinds.items():
            self.writer.writerow([_("Total"), "", self.counts[kind], label])
        left_out = self.count - self.limit
        if left_out > 0:
            self.writer.writerow(
                [
                    _("Not listed"),
                    "",
                    _(
                        "%(count)s more rows with errors; this report lists the "
                        "first %(limit)s."
                    )
                    % {"count": left_out, "limit": self.limit},
                    "",
                ]
            )

    def attach(self, batch: CardBatch) -> None:
        if batch.error_report:
            batch.error_report.delete(save=False)
        if not self.count:
            return
        self._write_totals()
        self.file.flush()
        self.file.seek(0)
        batch.error_report.save(
            f"batch-{batch.pk}-errors.csv", File(self.file.buffer), save=False
        )

    def close(self) -> None:
        self.file.close()


def _check_scan(sku: Sku, scan: CodeScan) -> None:
    if scan.total_rows == 0:
        raise FileRejected(_("The file holds no codes."))
    _check_reusable(sku, scan.new)


def _stored_name(upload) -> str:
    return PurePath(getattr(upload, "name", "") or "codes").name


def _open_checked(upload, name: str, limits: Limits):
    """The raw file and its format, after the checks that need no parsing."""
    check_size(getattr(upload, "size", None), limits)
    raw = raw_file(upload)
    fmt = detect_format(name, raw)
    check_file(raw, fmt, limits)
    return raw, fmt


def scan_card_file(*, sku: Sku, upload, name: str | None = None) -> CodeScan:
    """Read a code file without writing anything (--dry-run)."""
    _check_card_sku(sku)
    limits = Limits.from_settings()
    raw, fmt = _open_checked(upload, name or _stored_name(upload), limits)
    scan = _scan_codes(raw, fmt, scan=CodeScan(), limits=limits)
    _check_scan(sku, scan)
    return scan


# --- upload, check, preview ----------------------------------------------------------


def upload_card_batch(*, sku: Sku, upload, actor) -> CardBatch:
    """Store the file on a new batch to be checked by a worker. Refuses at once
    (FileRejected, nothing stored) what needs no parsing to refuse."""
    _check_card_sku(sku)
    name = _stored_name(upload)
    raw, fmt = _open_checked(upload, name, Limits.from_settings())
    with transaction.atomic():
        batch = CardBatch(
            sku=sku,
            file_name=name[:200],
            file_format=fmt,
            status=CardBatch.Status.CHECKING,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        batch.save()
        raw.seek(0)
        batch.upload.save(f"batch-{batch.pk}.{fmt}", File(raw), save=False)
        batch.save(update_fields=["upload"])
    return batch


def check_card_batch(*, batch_id: int) -> CardBatch | None:
    """Read a checking batch's file and record the preview (the task's body).
    A no-op unless the batch is checking."""
    batch = (
        CardBatch.objects.select_related("sku")
        .filter(pk=batch_id, status=CardBatch.Status.CHECKING)
        .first()
    )
    if batch is None:
        return CardBatch.objects.filter(pk=batch_id).first()
    cache.set(progress_key(batch_id), 0, PROGRESS_TIMEOUT)
    report = ErrorReport()
    try:
        try:
            with batch.upload.open("rb") as stored:
                scan = _scan_codes(
                    raw_file(stored),
                    batch.file_format,
                    scan=CodeScan(report=report),
                    limits=Limits.from_settings(),
                    progress=lambda rows: cache.set(
                        progress_key(batch_id), rows, PROGRESS_TIMEOUT
                    ),
                )
            _check_scan(batch.sku, scan)
        except FileRejected as exc:
            return fail_card_batch(
                batch_id, exc.message, from_status=CardBatch.Status.CHECKING
            )
        except Exception:
            logger.exception("card batch %s: checking the file failed", batch_id)
            return fail_card_batch(
                batch_id,
                _("Checking the file stopped on an unexpected error; upload it again."),
                from_status=CardBatch.Status.CHECKING,
            )
        with transaction.atomic():
            batch = CardBatch.objects.select_for_update().get(pk=batch_id)
            if batch.status != CardBatch.Status.CHECKING:
                return batch  # checked twice (a redelivered message): first wins
            batch.status = CardBatch.Status.PREVIEWED
            batch.total_rows = scan.total_rows
            batch.duplicates = scan.duplicates
            batch.rejected = scan.rejected
            batch.errors = scan.errors
            report.attach(batch)
            batch.save()
    finally:
        report.close()
        cache.delete(progress_key(batch_id))
    return batch


def preview_card_batch(*, sku: Sku, upload, actor) -> CardBatch:
    """Upload and check in this process (command line, demo, benchmark). A file
    rejected as a whole raises FileRejected and leaves no batch and no file."""
    batch = upload_card_batch(sku=sku, upload=upload, actor=actor)
    checked = check_card_batch(batch_id=batch.pk)
    if checked is None or checked.status != CardBatch.Status.PREVIEWED:
        failure = checked.failure if checked is not None else ""
        forget_card_batch(batch=batch)
        raise FileRejected(failure or _("The file could not be checked."))
    return checked


# --- commit, import, discard ----------------------------------------------------------


@transaction.atomic
def commit_card_batch(*, batch: CardBatch, actor) -> CardBatch:
    """Queue a previewed batch for import; the caller enqueues the import task
    after commit (catalog.tasks.imports.enqueue_card_batch_import)."""
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
    return batch


@transaction.atomic
def discard_card_batch(*, batch: CardBatch, actor) -> None:
    """Drop a previewed batch and its stored files (nothing was imported)."""
    batch = CardBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != CardBatch.Status.PREVIEWED:
        raise ImportStateError(_("Only a previewed batch can be discarded."))
    _delete_batch(batch)


@transaction.atomic
def forget_card_batch(*, batch: CardBatch) -> None:
    """Drop a batch that imported nothing (checking, previewed, failed, or done
    without a new code) with its files: a command-line run that imports nothing
    leaves nothing behind."""
    batch = CardBatch.objects.select_for_update().filter(pk=batch.pk).first()
    if batch is None:
        return
    imported_nothing = batch.status == CardBatch.Status.DONE and not batch.imported
    if not imported_nothing and batch.status not in (
        CardBatch.Status.CHECKING,
        CardBatch.Status.PREVIEWED,
        CardBatch.Status.FAILED,
    ):
        raise ImportStateError(
            _("Batch #%(batch)s is %(status)s; it cannot be dropped.")
            % {"batch": batch.pk, "status": batch.get_status_display()}
        )
    _delete_batch(batch)


def _delete_batch(batch: CardBatch) -> None:
    upload, report = batch.upload, batch.error_report
    batch.delete()
    transaction.on_commit(lambda: _delete_files(upload, report))


def _delete_files(*files) -> None:
    for stored in files:
        if stored:
            try:
                stored.storage.delete(stored.name)
            except OSError:
                # The orphan sweep retries; never fail the caller over it.
                logger.exception("deleting stored import file %s failed", stored.name)


def _drop_upload(batch_id: int) -> None:
    """Delete a finished batch's stored upload (plaintext codes) and forget it."""
    batch = CardBatch.objects.filter(pk=batch_id).exclude(upload="").first()
    if batch is None:
        return
    upload = batch.upload
    CardBatch.objects.filter(pk=batch_id).update(upload="")
    _delete_files(upload)


def run_card_batch(*, batch_id: int) -> CardBatch | None:
    """Import a queued batch (the Celery task's body). No-op unless queued."""
    started = CardBatch.objects.filter(
        pk=batch_id, status=CardBatch.Status.QUEUED
    ).update(status=CardBatch.Status.IMPORTING, started_at=timezone.now())
    if not started:
        return CardBatch.objects.filter(pk=batch_id).first()
    cache.set(progress_key(batch_id), 0, PROGRESS_TIMEOUT)
    try:
        batch = _import_batch(batch_id)
    except FileRejected as exc:
        return fail_card_batch(
            batch_id, exc.message, from_status=CardBatch.Status.IMPORTING
        )
    except Exception:
        # Logged with its traceback; the batch page shows the failure, and the
        # transaction rolled back, so nothing was imported.
        logger.exception("card batch %s failed", batch_id)
        return fail_card_batch(
            batch_id,
            _("The import stopped on an unexpected error; nothing was imported."),
            from_status=CardBatch.Status.IMPORTING,
        )
    # The import has committed: a failure from here on is logged, never turned
    # into a failed batch.
    try:
        cache.delete(progress_key(batch_id))
        # The codes now live encrypted in the table: drop the plaintext upload.
        _drop_upload(batch_id)
    except Exception:
        logger.exception("card batch %s: cleaning up after the import failed", batch_id)
    batch.refresh_from_db()
    return batch


def fail_card_batch(batch_id: int, message, *, from_status: str) -> CardBatch:
    # Only a batch still in `from_status`: once the import committed (DONE), a
    # later error (e.g. in the cleanup) must not report "nothing was imported".
    CardBatch.objects.filter(pk=batch_id, status=from_status).update(
        status=CardBatch.Status.FAILED,
        failure=str(message),
        finished_at=timezone.now(),
    )
    cache.delete(progress_key(batch_id))
    batch = CardBatch.objects.get(pk=batch_id)
    if batch.status == CardBatch.Status.FAILED:
        _drop_upload(batch_id)
        batch.refresh_from_db()
    return batch


def _import_batch(batch_id: int) -> CardBatch:
    report = ErrorReport()
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
                    limits=Limits.from_settings(),
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


# --- sweeping -------------------------------------------------------------------------


def lost_batches(*, now: datetime | None = None) -> dict[str, list[int]]:
    """Batches a lost message left checking or queued. Their tasks are no-ops
    unless the batch is still in that status, so enqueueing them again is
    harmless; a check is only re-sent once its task would have been killed."""
    now = now or timezone.now()
    checking = CardBatch.objects.filter(
        status=CardBatch.Status.CHECKING,
        created_at__lt=now - timedelta(minutes=LOST_CHECK_MINUTES),
    )
    queued = CardBatch.objects.filter(
        status=CardBatch.Status.QUEUED,
        created_at__lt=now - timedelta(minutes=LOST_MESSAGE_MINUTES),
    )
    return {
        "checking": list(checking.order_by("pk").values_list("pk", flat=True)[:100]),
        "queued": list(queued.order_by("pk").values_list("pk", flat=True)[:100]),
    }


def fail_stuck_batches(*, now: datetime | None = None) -> int:
    """Fail the batches whose check or import never finished (see STUCK_HOURS);
    the number failed. A batch whose import transaction is still open keeps
    its row lock and is skipped (on databases with row locks)."""
    now = now or timezone.now()
    before = now - timedelta(hours=STUCK_HOURS)
    failed = 0
    checks = CardBatch.objects.filter(
        status=CardBatch.Status.CHECKING, created_at__lt=before
    ).values_list("pk", flat=True)[:100]
    for batch_id in list(checks):
        batch = fail_card_batch(
            batch_id,
            _("Checking the file did not finish; upload it again."),
            from_status=CardBatch.Status.CHECKING,
        )
        failed += batch.status == CardBatch.Status.FAILED
    imports = CardBatch.objects.filter(
        status=CardBatch.Status.IMPORTING, started_at__lt=before
    ).values_list("pk", flat=True)[:100]
    for batch_id in list(imports):
        with transaction.atomic():
            idle = (
                CardBatch.objects.select_for_update(skip_locked=True)
                .filter(pk=batch_id, status=CardBatch.Status.IMPORTING)
                .exists()
            )
            if not idle:
                continue
            batch = fail_card_batch(
                batch_id,
                _(
                    "The import did not finish (its worker stopped); nothing was "
                    "imported. Upload the file again."
                ),
                from_status=CardBatch.Status.IMPORTING,
            )
        failed += batch.status == CardBatch.Status.FAILED
    return failed


def expire_stale_previews(*, now: datetime | None = None) -> int:
    """Discard previews nobody committed within a day (their upload is plaintext
    codes); the number discarded."""
    now = now or timezone.now()
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
    return discarded


def stored_files(folder: str) -> list[str]:
    """Every file under `folder` of the default storage (none when it is absent)."""
    try:
        folders, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    names = [f"{folder}/{name}" for name in files]
    for child in folders:
        names.extend(stored_files(f"{folder}/{child}"))
    return names


def delete_old_files(names, *, keep: set[str], before: datetime) -> int:
    """Delete the named files last changed before `before`, except `keep`."""
    deleted = 0
    for name in names:
        if name in keep:
            continue
        try:
            if default_storage.get_modified_time(name) >= before:
                continue
            default_storage.delete(name)
        except FileNotFoundError:
            continue
        deleted += 1
    return deleted


def sweep_orphan_files(*, now: datetime | None = None) -> int:
    """Delete stored code uploads and error reports no batch refers to any more
    (a batch whose file deletion failed, a crash between storing and committing):
    plaintext codes never outlive their batch by more than a sweep."""
    now = now or timezone.now()
    before = now - timedelta(hours=ORPHAN_GRACE_HOURS)
    # Files that belong to a finished batch but are still stored (a deletion
    # failed) are dropped with the row's reference.
    for batch_id in (
        CardBatch.objects.exclude(upload="")
        .exclude(
            status__in=(
                CardBatch.Status.CHECKING,
                CardBatch.Status.PREVIEWED,
                CardBatch.Status.QUEUED,
                CardBatch.Status.IMPORTING,
            )
        )
        .values_list("pk", flat=True)[:500]
    ):
        _drop_upload(batch_id)
    names = stored_files(CODE_FILES_DIR) + stored_files(REPORT_FILES_DIR)
    return delete_old_files(names, keep=live_stored_files(), before=before)
