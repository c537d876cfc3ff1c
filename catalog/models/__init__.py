from catalog.models.alerts import StockAlert
from catalog.models.codes import CardBatch, CardCode, CodeReveal
from catalog.models.pricing import CostPlusRule, LevelPrice, PriceChange, QuantityTier
from catalog.models.products import Category, Product, Sku, SkuSalesDay
from catalog.models.suppliers import (
    SandboxOrder,
    SandboxProfile,
    Supplier,
    SupplierCall,
    SupplierOffer,
)

__all__ = [
    "CardBatch",
    "CardCode",
    "Category",
    "CodeReveal",
    "CostPlusRule",
    "LevelPrice",
    "PriceChange",
    "Product",
    "QuantityTier",
    "SandboxOrder",
    "SandboxProfile",
    "Sku",
    "SkuSalesDay",
    "StockAlert",
    "Supplier",
    "SupplierCall",
    "SupplierOffer",
]
