from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class MarketingConfig(AppConfig):
    name = "marketing"
    verbose_name = _("Marketing")

    def ready(self):
        import marketing.coupons.module  # noqa: F401 - module, price step, claim
        import marketing.flash_sales  # noqa: F401 - module, price step, claim
        import marketing.group_buy  # noqa: F401 - module, price step, claim
        import marketing.points  # noqa: F401 - module, price step, claim, earn
        import marketing.referral_setup  # noqa: F401 - module, admin, receivers
        from marketing import (  # noqa: F401 - modules, steps
            signals,  # noqa: F401 - connects the receivers
            topup_bonus,
            vouchers,
        )
        from marketing.services import ensure_builtin_segments_after_migrate

        # After a test flush too (which empties what the data migration wrote).
        post_migrate.connect(
            ensure_builtin_segments_after_migrate,
            dispatch_uid="marketing.ensure_builtin_segments",
        )
        from marketing.campaigns import ensure_campaigns_after_migrate

        post_migrate.connect(  # the automatic coupon campaigns' rows
            ensure_campaigns_after_migrate,
            dispatch_uid="marketing.ensure_campaigns",
        )
