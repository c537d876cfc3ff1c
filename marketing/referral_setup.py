"""Referral's one import from MarketingConfig.ready(): the module registration
(marketing.referral), its admin and its receivers."""

from marketing import referral, referral_admin, referral_receivers  # noqa: F401
