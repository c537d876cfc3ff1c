"""Catalog benchmarks, one module per area (registered on import)."""

from catalog.benchmarks import imports, inventory

__all__ = ["imports", "inventory"]
