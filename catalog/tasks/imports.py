"""Celery tasks: catalog imports (thin: the service does the work)."""

from celery import shared_task


@shared_task(
    name="catalog.import_card_batch",
    acks_late=True,
    soft_time_limit=1800,
    time_limit=1900,
)
def import_card_batch_task(batch_id: int) -> None:
    """Import a queued card-code batch; a no-op for any other status, so a
    redelivered message never imports twice."""
    from catalog.services.imports import run_card_batch

    run_card_batch(batch_id=batch_id)


@shared_task(name="catalog.sweep_card_batches", acks_late=True)
def sweep_card_batches_task() -> dict:
    """Re-enqueue batches a lost message left queued; drop stale previews."""
    from catalog.services.imports import sweep_card_batches

    return sweep_card_batches()
