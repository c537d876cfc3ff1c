"""Coupons (issue 13): rules (pure arithmetic and reasons), services (issue,
claim, release), selectors (a buyer's coupons, the best one, the report), the
price step and the module's registration (`marketing.coupons.module`, imported
from MarketingConfig.ready)."""
