"""Wallet top-up bonuses (充值赠送, issue 13).

A rule has tiers ("充 100 送 5", "充 500 送 40"): a paid top-up gets the bonus
of the highest tier its amount reaches, while the rule is in its window and
the buyer has not used it `per_buyer_limit` times. Each bonus paid is one
BonusGrant (one per top-up, its number unique) beside a ledger row of kind
BONUS in the same transaction; a refunded top-up takes its bonus back and
records what could not be taken (`shortfall`) for finance.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0.00")


class BonusRule(models.Model):
    name = models.CharField(_("name"), max_length=80)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    per_buyer_limit = models.PositiveIntegerField(
        _("times per buyer"),
        default=0,
        help_text=_("0: no limit."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("top-up bonus rule")
        verbose_name_plural = _("top-up bonus rules")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="marketing_bonusrule_window",
            )
        ]

    def __str__(self):
        return self.name


class BonusTier(models.Model):
    rule = models.ForeignKey(
        BonusRule,
        on_delete=models.CASCADE,
        related_name="tiers",
        verbose_name=_("rule"),
    )
    threshold = models.DecimalField(
        _("top up at least"), max_digits=12, decimal_places=2
    )
    bonus = models.DecimalField(_("bonus"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("bonus tier")
        verbose_name_plural = _("bonus tiers")
        ordering = ["threshold"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "threshold"], name="marketing_bonustier_uniq"
            ),
            models.CheckConstraint(
                condition=Q(threshold__gt=0) & Q(bonus__gt=0),
                name="marketing_bonustier_positive",
            ),
        ]

    def __str__(self):
        return _("Top up %(threshold)s, get %(bonus)s") % {
            "threshold": self.threshold,
            "bonus": self.bonus,
        }


class BonusGrant(models.Model):
    """The bonus one paid top-up earned (the bonus ledger finance reads)."""

    topup_no = models.CharField(_("top-up number"), max_length=24, unique=True)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("buyer"),
    )
    rule = models.ForeignKey(
        BonusRule,
        on_delete=models.PROTECT,
        related_name="grants",
        verbose_name=_("rule"),
    )
    topup_amount = models.DecimalField(
        _("top-up amount"), max_digits=14, decimal_places=2
    )
    bonus = models.DecimalField(_("bonus"), max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(_("credited at"), auto_now_add=True)
    reversed_amount = models.DecimalField(
        _("taken back"), max_digits=14, decimal_places=2, default=ZERO
    )
    shortfall = models.DecimalField(
        _("not recovered"), max_digits=14, decimal_places=2, default=ZERO
    )
    reversed_at = models.DateTimeField(_("taken back at"), null=True, blank=True)

    class Meta:
        verbose_name = _("top-up bonus")
        verbose_name_plural = _("top-up bonuses")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["buyer", "rule"], name="marketing_bonusgrant_buyer_idx"
            ),
            models.Index(
                fields=["-id"],
                condition=Q(shortfall__gt=0),
                name="marketing_bonusgrant_short_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(bonus__gt=0)
                & Q(reversed_amount__gte=0)
                & Q(shortfall__gte=0)
                & Q(reversed_amount__lte=models.F("bonus") - models.F("shortfall")),
                name="marketing_bonusgrant_amounts",
            )
        ]

    def __str__(self):
        return self.topup_no
