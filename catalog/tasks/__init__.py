"""Celery tasks of the catalog; one module per area, imported here so that
autodiscovery (which imports catalog.tasks) registers them all."""

from catalog.tasks import imports, inventory, pricing, products, suppliers

__all__ = ["imports", "inventory", "pricing", "products", "suppliers"]
