"""Celery tasks: catalog products."""

from celery import shared_task

from catalog.services.products import apply_product_schedules


@shared_task(name="catalog.apply_product_schedules", ignore_result=True)
def apply_product_schedules_task() -> dict[str, int]:
    """Every minute: list/unlist products whose list_at/unlist_at has come."""
    return apply_product_schedules()
