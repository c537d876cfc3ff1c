"""Catalog demo data, one module per area, seeded in dependency order."""

from catalog.demo import codes, inventory, pricing, products, suppliers

AREAS = (products, pricing, suppliers, codes, inventory)


def seed(ctx):
    for area in AREAS:
        area.seed(ctx)
