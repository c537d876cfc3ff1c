"""Celery tasks of the catalog; one module per area, imported here so that
autodiscovery (which imports catalog.tasks) registers them all."""

from catalog.tasks import codes, imports, inventory, pricing, products, suppliers

__all__ = ["codes", "imports", "inventory", "pricing", "products", "suppliers"]
