from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models.products import Sku


class LevelPrice(models.Model):
    """The price a member level pays for a SKU instead of the base price."""

    sku = models.ForeignKey(
        Sku,
        on_delete=models.CASCADE,
        related_name="level_prices",
        verbose_name=_("SKU"),
    )
    level = models.ForeignKey(
        "users.MemberLevel",
        on_delete=models.CASCADE,
        related_name="sku_prices",
        verbose_name=_("member level"),
    )
    price = models.DecimalField(_("price"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("member-level price")
        verbose_name_plural = _("member-level prices")
        constraints = [
            models.UniqueConstraint(
                fields=["sku", "level"], name="catalog_levelprice_uniq"
            ),
            models.CheckConstraint(
                condition=Q(price__gt=0), name="catalog_levelprice_gt_0"
            ),
        ]

    def __str__(self):
        return f"{self.level}: {self.price}"


class QuantityTier(models.Model):
    """Buy at least `min_quantity` and each unit costs `price`."""

    sku = models.ForeignKey(
        Sku,
        on_delete=models.CASCADE,
        related_name="quantity_tiers",
        verbose_name=_("SKU"),
    )
    min_quantity = models.PositiveIntegerField(_("from quantity"))
    price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("quantity tier")
        verbose_name_plural = _("quantity tiers")
        ordering = ["sku_id", "min_quantity"]
        constraints = [
            models.UniqueConstraint(
                fields=["sku", "min_quantity"], name="catalog_tier_uniq"
            ),
            models.CheckConstraint(
                condition=Q(min_quantity__gte=2), name="catalog_tier_min_2"
            ),
            models.CheckConstraint(
                condition=Q(price__gt=0), name="catalog_tier_price_gt_0"
            ),
        ]

    def __str__(self):
        return f"≥{self.min_quantity}: {self.price}"


class CostPlusRule(models.Model):
    """Dynamic pricing: base price = cost × (1 + margin), rounded, kept within
    [floor, ceiling]; re-applied whenever the cost the SKU is bought at changes."""

    class Rounding(models.TextChoices):
        CENT = "0.01", _("To the cent")
        DIME = "0.10", _("To 0.1")
        YUAN = "1", _("To the yuan")
        NINE = "x.9", _("Up to x.9")

    sku = models.OneToOneField(
        Sku,
        on_delete=models.CASCADE,
        related_name="cost_plus_rule",
        verbose_name=_("SKU"),
    )
    margin_percent = models.DecimalField(_("margin %"), max_digits=6, decimal_places=2)
    floor = models.DecimalField(
        _("floor price"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    ceiling = models.DecimalField(
        _("ceiling price"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    rounding = models.CharField(
        _("rounding"), max_length=4, choices=Rounding, default=Rounding.CENT
    )
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("cost-plus rule")
        verbose_name_plural = _("cost-plus rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(margin_percent__gt=Decimal("-100")),
                name="catalog_rule_margin",
            ),
            models.CheckConstraint(
                condition=Q(floor__isnull=True)
                | Q(ceiling__isnull=True)
                | Q(ceiling__gte=models.F("floor")),
                name="catalog_rule_floor_le_ceiling",
            ),
        ]

    def __str__(self):
        return f"{self.sku_id} +{self.margin_percent}%"


class PriceChange(models.Model):
    """Price history: every change of a price layer, with who or what caused it."""

    class Cause(models.TextChoices):
        MANUAL = "manual", _("Edited by staff")
        IMPORT = "import", _("Product import")
        COST_CHANGE = "cost_change", _("Supplier cost changed")
        RULE = "rule", _("Pricing rule changed")

    sku = models.ForeignKey(
        Sku,
        on_delete=models.CASCADE,
        related_name="price_changes",
        verbose_name=_("SKU"),
    )
    layer = models.CharField(
        _("layer"), max_length=40, help_text=_("base, cost, level:<code>, tier:<n>")
    )
    old_price = models.DecimalField(
        _("old price"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    new_price = models.DecimalField(
        _("new price"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    cause = models.CharField(_("cause"), max_length=16, choices=Cause)
    note = models.CharField(_("note"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    created_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("price change")
        verbose_name_plural = _("price history")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["sku", "-created_at"], name="catalog_pricechange_idx")
        ]

    def __str__(self):
        old = "—" if self.old_price is None else self.old_price
        new = "—" if self.new_price is None else self.new_price
        return f"{self.sku_id} · {self.get_cause_display()} · {old} → {new}"
