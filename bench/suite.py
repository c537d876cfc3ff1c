"""Every benchmark, registered on import: `manage.py bench` loads this module."""

from bench import (
    announce_paid,
    audit_seal,
    checkout,
    checkout_cpu,
    coupon_issue,
    dashboard,
    flash_sale,
    foundation,
    imports,
    insights,
    inventory,
    reports,
    sale_pool,
    segments,
    support_suggest,
    topup,
    workbench,
)
from bench.registry import REGISTRY

__all__ = [
    "REGISTRY",
    "announce_paid",
    "audit_seal",
    "checkout",
    "checkout_cpu",
    "coupon_issue",
    "dashboard",
    "flash_sale",
    "foundation",
    "imports",
    "insights",
    "inventory",
    "reports",
    "sale_pool",
    "segments",
    "support_suggest",
    "topup",
    "workbench",
]
