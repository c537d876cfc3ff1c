"""Catalog test data. Shared by every catalog test module; add area-specific
factories in your own module rather than here."""

from decimal import Decimal
from itertools import count

from catalog.models import Category, Product, Sku

_seq = count(1)


def make_category(name: str | None = None, parent: Category | None = None) -> Category:
    n = next(_seq)
    return Category.objects.create(
        name=name or f"分类{n}", slug=f"cat-{n}", parent=parent
    )


def make_product(name: str | None = None, **fields) -> Product:
    fields.setdefault("category", make_category())
    fields.setdefault("status", Product.Status.LISTED)
    return Product.objects.create(name=name or f"商品{next(_seq)}", **fields)


def make_sku(code: str | None = None, **fields) -> Sku:
    """A card SKU with code stock by default; pass delivery_type/stock_mode."""
    fields.setdefault("product", make_product())
    fields.setdefault("name", "面值 10")
    fields.setdefault("delivery_type", Sku.DeliveryType.CARD)
    fields.setdefault(
        "stock_mode",
        Sku.StockMode.CODES
        if fields["delivery_type"] == Sku.DeliveryType.CARD
        else Sku.StockMode.UNLIMITED,
    )
    fields.setdefault("price", Decimal("9.80"))
    fields.setdefault("cost_price", Decimal("9.00"))
    return Sku.objects.create(code=code or f"SKU-{next(_seq)}", **fields)
