from django.utils.translation import gettext as _

from kameng.exceptions import DomainError


class NotEnoughCodes(DomainError):
    """Fewer available card codes than the order needs: nothing was taken."""

    code = "catalog_not_enough_codes"

    def __init__(self, *, sku: str, wanted: int, available: int):
        super().__init__(
            _("Sold out: %(sku)s has %(available)s codes left, %(wanted)s wanted.")
            % {"sku": sku, "available": available, "wanted": wanted},
            sku=sku,
            wanted=wanted,
            available=available,
        )
