from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0.00")


class MemberLevel(models.Model):
    """A buyer tier (普通, 白银, 黄金, VIP…). Minimal here: the pricing layer and the
    VIP supplier preference read it; marketing adds growth value and benefits."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=40)
    rank = models.PositiveSmallIntegerField(
        _("rank"), default=0, help_text=_("Higher is better.")
    )
    prefers_fastest_supplier = models.BooleanField(
        _("VIP: fastest healthy supplier first"), default=False
    )

    class Meta:
        verbose_name = _("member level")
        verbose_name_plural = _("member levels")
        ordering = ["rank", "id"]

    def __str__(self):
        return self.name


class User(AbstractUser):
    """Staff and buyers alike; `is_staff` opens the back office, groups give roles."""

    phone = models.CharField(_("phone"), max_length=20, blank=True)
    nickname = models.CharField(_("nickname"), max_length=50, blank=True)
    member_level = models.ForeignKey(
        MemberLevel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("member level"),
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")
        indexes = [models.Index(fields=["phone"], name="users_user_phone_idx")]

    def __str__(self):
        return self.nickname or self.username


class Wallet(models.Model):
    """A buyer's balance (余额). Changed only by users.services, one ledger row each."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="wallet",
        verbose_name=_("user"),
    )
    balance = models.DecimalField(
        _("balance"), max_digits=14, decimal_places=2, default=ZERO
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")
        permissions = [("adjust_wallet", _("Can adjust wallet balances"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="users_wallet_balance_gte_0"
            )
        ]

    def __str__(self):
        return str(self.user)


class LedgerEntry(models.Model):
    """One change of one wallet's balance. Balance == sum(amount), always."""

    class Kind(models.TextChoices):
        TOPUP = "topup", _("Top-up")
        PURCHASE = "purchase", _("Purchase")
        REFUND = "refund", _("Refund")
        ADJUSTMENT = "adjustment", _("Adjustment")
        REWARD = "reward", _("Reward")

    wallet = models.ForeignKey(
        Wallet,
        on_delete=models.PROTECT,
        related_name="entries",
        verbose_name=_("wallet"),
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    balance_after = models.DecimalField(
        _("balance after"), max_digits=14, decimal_places=2
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["wallet", "-id"], name="users_ledger_wallet_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="users_ledger_balance_gte_0"
            ),
            models.CheckConstraint(
                condition=~Q(amount=0), name="users_ledger_amount_not_0"
            ),
        ]

    def __str__(self):
        return f"{self.wallet_id} {self.amount:+}"
