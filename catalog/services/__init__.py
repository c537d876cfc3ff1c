"""Catalog writes, one module per area: codes, imports, suppliers, inventory,
pricing, products. Each function is keyword-only and atomic (STYLE §1)."""
