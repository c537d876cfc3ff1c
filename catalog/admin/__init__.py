"""Catalog back office, one module per area (each registers its own models)."""

from catalog.admin import audit, codes, inventory, pricing, products, suppliers

__all__ = ["audit", "codes", "inventory", "pricing", "products", "suppliers"]
