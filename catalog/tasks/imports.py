"""Celery tasks: catalog imports (thin: the services do the work).

The enqueue helpers are the one place that decides when a batch's next step
runs: after the caller's transaction commits, on a worker (or in-process where
Celery runs eagerly).
"""

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import transaction

from catalog.services import card_batches, product_imports


@shared_task(
    name="catalog.check_card_batch",
    acks_late=True,
    soft_time_limit=900,
    time_limit=960,
)
def check_card_batch_task(batch_id: int) -> None:
    """Read an uploaded card-code file and record its preview; a no-op unless
    the batch is still being checked."""
    card_batches.check_card_batch(batch_id=batch_id)


@shared_task(
    name="catalog.import_card_batch",
    acks_late=True,
    soft_time_limit=1800,
    time_limit=1900,
)
def import_card_batch_task(batch_id: int) -> None:
    """Import a queued card-code batch; a no-op for any other status, so a
    redelivered message never imports twice."""
    card_batches.run_card_batch(batch_id=batch_id)


def enqueue_card_batch_check(batch_id: int) -> None:
    transaction.on_commit(lambda: check_card_batch_task.delay(batch_id))


def enqueue_card_batch_import(batch_id: int) -> None:
    transaction.on_commit(lambda: import_card_batch_task.delay(batch_id))


@shared_task(
    name="catalog.preview_product_file",
    acks_late=True,
    soft_time_limit=900,
    time_limit=960,
)
def preview_product_file_task(token: str, path: str, name: str, actor_id) -> None:
    """Check every row of a staged product file and keep the preview for the
    page that polls for it."""
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    product_imports.check_staged_products(
        token=token, path=path, name=name, actor=actor
    )


def enqueue_product_preview(*, token: str, path: str, name: str, actor_id) -> None:
    product_imports.start_product_preview(token=token)
    transaction.on_commit(
        lambda: preview_product_file_task.delay(token, path, name, actor_id)
    )


@shared_task(name="catalog.sweep_card_batches", acks_late=True)
def sweep_card_batches_task() -> dict:
    """Fail batches whose worker died (first: they are not re-sent), re-enqueue
    batches a lost message left checking or queued, discard previews nobody
    committed within a day."""
    failed = card_batches.fail_stuck_batches()
    lost = card_batches.lost_batches()
    for batch_id in lost["checking"]:
        check_card_batch_task.delay(batch_id)
    for batch_id in lost["queued"]:
        import_card_batch_task.delay(batch_id)
    return {
        "rechecked": len(lost["checking"]),
        "requeued": len(lost["queued"]),
        "discarded": card_batches.expire_stale_previews(),
        "failed": failed,
    }


@shared_task(name="catalog.sweep_import_files", acks_late=True)
def sweep_import_files_task() -> dict:
    """Delete stored import files that belong to no live batch or preview."""
    return {
        "code_files": card_batches.sweep_orphan_files(),
        "product_files": product_imports.sweep_staged_files(),
    }
