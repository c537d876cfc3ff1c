"""Reads of the import pages: card-code batches and their progress."""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import QuerySet

from catalog.models import CardBatch

PROGRESS_TIMEOUT = 6 * 3600
PREVIEW_TIMEOUT = 24 * 3600  # a product preview, as long as its staged file
# A batch whose stored upload may still be needed (checked, previewed or imported).
LIVE_STATUSES = (
    CardBatch.Status.CHECKING,
    CardBatch.Status.PREVIEWED,
    CardBatch.Status.QUEUED,
    CardBatch.Status.IMPORTING,
)
# Statuses whose progress lives in the cache while a worker reads the file (the
# rows of a running transaction are not visible to other connections).
WORKING_STATUSES = (CardBatch.Status.CHECKING, CardBatch.Status.IMPORTING)


def progress_key(batch_id: int) -> str:
    return f"catalog:cardbatch:{batch_id}:progress"


def batch_progress(batch: CardBatch) -> tuple[int, int]:
    """(rows processed, percent) as the progress bar shows them. While a worker
    checks or imports the file, its progress lives in the cache. A check does
    not know the total yet: its percent stays 0 (the bar is indeterminate)."""
    processed = batch.processed_rows
    if batch.status in WORKING_STATUSES:
        processed = int(cache.get(progress_key(batch.pk)) or 0)
    elif batch.status in (CardBatch.Status.DONE, CardBatch.Status.VOIDED):
        processed = batch.total_rows
    percent = 0
    if batch.status == CardBatch.Status.CHECKING:
        return processed, 0
    if batch.total_rows:
        percent = min(100, processed * 100 // batch.total_rows)
    elif batch.status == CardBatch.Status.DONE:
        percent = 100
    return processed, percent


def to_import(batch: CardBatch) -> int:
    """Codes the previewed file would add."""
    return max(0, batch.total_rows - batch.duplicates - batch.rejected)


def recent_batches(*, limit: int = 10) -> QuerySet[CardBatch]:
    return CardBatch.objects.select_related("sku", "created_by").order_by("-id")[:limit]


def batch_for_page(*, pk: int) -> CardBatch | None:
    return (
        CardBatch.objects.select_related("sku__product", "created_by", "voided_by")
        .filter(pk=pk)
        .first()
    )


def live_stored_files() -> set[str]:
    """Names of the stored uploads and error reports some batch still refers to
    (an error report stays with its batch in every state)."""
    names: set[str] = set()
    live = CardBatch.objects.filter(status__in=LIVE_STATUSES).exclude(upload="")
    names.update(live.values_list("upload", flat=True))
    reports = CardBatch.objects.exclude(error_report="")
    names.update(reports.values_list("error_report", flat=True))
    return names


def preview_key(token: str) -> str:
    return f"catalog:product-import:{token}:preview"


def product_preview(token: str) -> dict | None:
    """A product file's preview as catalog.services.product_imports left it:
    {"state": "checking", "rows": n}, {"state": "failed", "failure": text} or
    {"state": "done", ...the counts, errors and plans}; None once expired."""
    found = cache.get(preview_key(token))
    return found if isinstance(found, dict) else None
