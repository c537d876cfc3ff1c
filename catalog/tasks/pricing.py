"""Celery tasks: catalog pricing."""

from celery import shared_task

from catalog.models import Sku
from catalog.services.pricing import apply_cost_plus


@shared_task(name="catalog.apply_cost_plus", ignore_result=True)
def apply_cost_plus_task(sku_id: int, cause: str = "cost_change") -> None:
    """Re-price one SKU from its current cost (idempotent: no change, no row)."""
    sku = Sku.objects.filter(pk=sku_id).first()
    if sku is not None:
        apply_cost_plus(sku=sku, cause=cause)
