"""Catalog back office, one module per area (each registers its own models)."""

from catalog.admin import codes, inventory, pricing, products, suppliers

__all__ = ["codes", "inventory", "pricing", "products", "suppliers"]
