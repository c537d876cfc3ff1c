"""Flash sales (限时秒杀, issue 13): a SKU at a flash price for a window, with a
quantity cap and a per-buyer cap.

The counters (sold, GMV, cost) move only in marketing.flash_sales' claim and
release, with conditional UPDATEs, so the cap holds under concurrency and the
live page reads one row. Marketing cannot read orders: each claim keeps what the
pages need (units, amount, cost snapshot) in FlashSaleClaim; order ids are plain
integers.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

ZERO = Decimal("0.00")


def _money(verbose_name, **options):
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **options)


class FlashSale(models.Model):
    sku = models.ForeignKey(
        "catalog.Sku",
        verbose_name=_("SKU"),
        on_delete=models.PROTECT,
        related_name="flash_sales",
    )
    title = models.CharField(
        _("title"),
        max_length=60,
        blank=True,
        help_text=_("Shown on the shop above the countdown (optional)."),
    )
    starts_at = models.DateTimeField(pgettext_lazy("flash sale", "starts at"))
    ends_at = models.DateTimeField(pgettext_lazy("flash sale", "ends at"))
    price = _money(
        pgettext_lazy("flash sale", "flash price"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Must be below the SKU's price."),
    )
    quantity_cap = models.PositiveIntegerField(
        pgettext_lazy("flash sale", "units on sale"), validators=[MinValueValidator(1)]
    )
    per_buyer_cap = models.PositiveIntegerField(
        pgettext_lazy("flash sale", "limit per buyer"),
        default=1,
        validators=[MinValueValidator(1)],
    )
    # Moved only by claims and releases (marketing.flash_sales).
    sold = models.PositiveIntegerField(
        pgettext_lazy("flash sale", "units sold"), default=0, editable=False
    )
    gmv = _money(_("GMV"), default=ZERO, editable=False)
    cost = _money(_("cost"), default=ZERO, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = pgettext_lazy("flash sale", "flash sale")
        verbose_name_plural = pgettext_lazy("flash sale", "flash sales")
        ordering = ("-starts_at",)
        indexes = [models.Index(fields=["sku", "ends_at"], name="mkt_flash_sku_end")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="mkt_flash_window"
            ),
            models.CheckConstraint(condition=Q(price__gt=0), name="mkt_flash_price"),
            models.CheckConstraint(
                condition=Q(quantity_cap__gte=1, per_buyer_cap__gte=1),
                name="mkt_flash_caps",
            ),
            models.CheckConstraint(
                condition=Q(sold__lte=F("quantity_cap")), name="mkt_flash_sold_cap"
            ),
        ]

    def __str__(self):
        return self.title or f"{self.sku} @ {self.price}"

    @property
    def remaining(self) -> int:
        return max(self.quantity_cap - self.sold, 0)

    @property
    def profit(self) -> Decimal:
        return self.gmv - self.cost


class FlashSaleBuyer(models.Model):
    """How many units one buyer holds of one sale (the per-buyer cap's counter)."""

    sale = models.ForeignKey(
        FlashSale, on_delete=models.CASCADE, related_name="buyer_counts"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    bought = models.PositiveIntegerField(
        pgettext_lazy("flash sale", "units bought"), default=0
    )

    class Meta:
        verbose_name = pgettext_lazy("flash sale", "flash sale buyer")
        verbose_name_plural = pgettext_lazy("flash sale", "flash sale buyers")
        constraints = [
            models.UniqueConstraint(
                fields=["sale", "buyer"], name="mkt_flash_buyer_uniq"
            ),
        ]

    def __str__(self):
        return f"{self.sale_id}/{self.buyer_id}: {self.bought}"


class FlashSaleClaim(models.Model):
    """One order's units of a flash sale, as the sale's pages need them."""

    sale = models.ForeignKey(FlashSale, on_delete=models.CASCADE, related_name="claims")
    order_id = models.BigIntegerField(
        pgettext_lazy("flash sale", "order id"), db_index=True
    )
    order_no = models.CharField(_("order number"), max_length=32)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    amount = _money(_("amount"))
    cost = _money(_("cost"))
    claimed_at = models.DateTimeField(pgettext_lazy("flash sale", "claimed at"))
    released_at = models.DateTimeField(
        pgettext_lazy("flash sale", "released at"), null=True, blank=True
    )
    release_reason = models.CharField(
        pgettext_lazy("flash sale", "release reason"), max_length=24, blank=True
    )

    class Meta:
        verbose_name = pgettext_lazy("flash sale", "flash sale order")
        verbose_name_plural = pgettext_lazy("flash sale", "flash sale orders")
        constraints = [
            models.UniqueConstraint(
                fields=["sale", "order_id"], name="mkt_flash_claim_uniq"
            ),
        ]

    def __str__(self):
        return self.order_no
