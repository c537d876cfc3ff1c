"""Catalog reads for pages and reports, one module per area."""

from catalog.selectors.products import catalog_figures

__all__ = ["catalog_figures"]
