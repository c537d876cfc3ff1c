"""Referral (邀请有礼, issue 13): invite codes, who invited whom, the rewards
paid for it and the settings marketing keeps.

A Referral is written when an invited buyer signs up (the shop's signup view
calls marketing.referral.record_referral with the code and what it saw of the
signup: IP address, device cookie). Abuse checks run then; a flagged referral
is held (审核中) and pays nothing until a reviewer clears it. Each reward is a
ReferralReward row, unique per (referral, event, side): paid once, whatever
repeats.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2}


class RewardKind(models.TextChoices):
    NONE = "none", _("No reward")
    WALLET = "wallet", _("Wallet credit")
    COUPON = "coupon", _("Coupon")
    POINTS = "points", _("Points")


class ReferralEvent(models.TextChoices):
    SIGNUP = "signup", _("Friend signed up")
    FIRST_ORDER = "first_order", _("Friend's first paid order")


class ReferralSide(models.TextChoices):
    INVITER = "inviter", _("Inviter")
    INVITEE = "invitee", _("Invited friend")


def reward_kind_field(verbose_name):
    return models.CharField(
        verbose_name, max_length=16, choices=RewardKind, default=RewardKind.NONE
    )


def reward_amount_field(verbose_name):
    return models.DecimalField(
        verbose_name,
        **MONEY,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0.00"))],
        help_text=_("Wallet credit: the yuan credited; points: how many points."),
    )


def reward_coupon_field(verbose_name):
    return models.ForeignKey(
        "marketing.CouponTemplate",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=verbose_name,
        help_text=_("Coupon: the template one coupon is issued from."),
    )


class ReferralSettings(models.Model):
    """One row (pk 1): what each side earns on which event, and the abuse
    limits. Changed by marketing in the back office."""

    signup_inviter_kind = reward_kind_field(_("on signup: inviter's reward"))
    signup_inviter_amount = reward_amount_field(_("on signup: inviter's amount"))
    signup_inviter_coupon = reward_coupon_field(_("on signup: inviter's coupon"))
    signup_invitee_kind = reward_kind_field(_("on signup: friend's reward"))
    signup_invitee_amount = reward_amount_field(_("on signup: friend's amount"))
    signup_invitee_coupon = reward_coupon_field(_("on signup: friend's coupon"))
    first_order_inviter_kind = reward_kind_field(_("on first order: inviter's reward"))
    first_order_inviter_amount = reward_amount_field(
        _("on first order: inviter's amount")
    )
    first_order_inviter_coupon = reward_coupon_field(
        _("on first order: inviter's coupon")
    )
    first_order_invitee_kind = reward_kind_field(_("on first order: friend's reward"))
    first_order_invitee_amount = reward_amount_field(
        _("on first order: friend's amount")
    )
    first_order_invitee_coupon = reward_coupon_field(
        _("on first order: friend's coupon")
    )
    first_order_min_amount = models.DecimalField(
        _("first order: minimum paid"),
        **MONEY,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0.00"))],
        help_text=_("A first order paying less earns nothing (0: any amount)."),
    )
    max_per_hour = models.PositiveIntegerField(
        _("invites per inviter per hour"),
        default=5,
        help_text=_("More sign-ups than this within an hour are held for review."),
    )
    max_per_day = models.PositiveIntegerField(
        _("invites per inviter per day"),
        default=20,
        help_text=_("More sign-ups than this within a day are held for review."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("referral settings")
        verbose_name_plural = _("referral settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(pk=1), name="marketing_referral_settings_single_row"
            ),
            models.CheckConstraint(
                condition=Q(signup_inviter_amount__gte=0)
                & Q(signup_invitee_amount__gte=0)
                & Q(first_order_inviter_amount__gte=0)
                & Q(first_order_invitee_amount__gte=0)
                & Q(first_order_min_amount__gte=0),
                name="marketing_referral_settings_amounts_gte_0",
            ),
        ]

    def __str__(self):
        return str(_("Referral settings"))

    def clean(self):
        errors = {}
        for event in ReferralEvent.values:
            for side in ReferralSide.values:
                kind, amount = self.reward_for(event, side)
                coupon = getattr(self, f"{event}_{side}_coupon_id")
                if kind == RewardKind.WALLET and not (amount and amount > 0):
                    errors[f"{event}_{side}_amount"] = _(
                        "Wallet credit needs an amount above 0."
                    )
                if kind == RewardKind.POINTS and not (
                    amount and amount > 0 and amount == amount.to_integral_value()
                ):
                    errors[f"{event}_{side}_amount"] = _(
                        "Points need a whole number above 0."
                    )
                if kind == RewardKind.COUPON and coupon is None:
                    errors[f"{event}_{side}_coupon"] = _(
                        "A coupon reward needs a coupon template."
                    )
        if errors:
            raise ValidationError(errors)

    def reward_for(self, event: str, side: str) -> tuple[str, Decimal]:
        """(kind, amount) of one reward slot."""
        return (
            getattr(self, f"{event}_{side}_kind"),
            getattr(self, f"{event}_{side}_amount"),
        )


class ReferralCode(models.Model):
    """A buyer's invite code, made the first time they open the invite page,
    and the devices and addresses seen when they did (the abuse checks compare
    an invited friend's signup with them)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="referral_code",
        verbose_name=_("buyer"),
    )
    code = models.CharField(_("invite code"), max_length=16, unique=True)
    seen_devices = models.JSONField(_("devices seen"), default=list, blank=True)
    seen_ips = models.JSONField(_("addresses seen"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("invite code")
        verbose_name_plural = _("invite codes")

    def __str__(self):
        return self.code


class Referral(models.Model):
    """One invited buyer: who invited them, what their signup looked like, the
    review state and their first paid order."""

    class Review(models.TextChoices):
        NOT_NEEDED = "ok", _("No review needed")
        HELD = "held", _("Awaiting review")
        CLEARED = "cleared", _("Cleared")
        REJECTED = "rejected", _("Rejected")

    class Reason(models.TextChoices):
        SAME_DEVICE = "same_device", _("Same device as the inviter or another friend")
        SAME_IP = "same_ip", _("Same IP address as the inviter or another friend")
        SAME_CONTACT = "same_contact", _("Same phone or e-mail as the inviter")
        VELOCITY_HOUR = (
            "velocity_hour",
            _("Too many invites by this inviter in an hour"),
        )
        VELOCITY_DAY = "velocity_day", _("Too many invites by this inviter in a day")

    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="referrals_made",
        verbose_name=_("inviter"),
    )
    invitee = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="referral",
        verbose_name=_("invited friend"),
    )
    code = models.CharField(_("invite code"), max_length=16)
    signup_ip = models.GenericIPAddressField(_("signup IP"), null=True, blank=True)
    device_id = models.CharField(_("device"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("signed up at"), auto_now_add=True)
    review = models.CharField(
        _("review"), max_length=16, choices=Review, default=Review.NOT_NEEDED
    )
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.CharField(_("review note"), max_length=255, blank=True)
    # Marketing never reads orders: the first paid order as order_paid told it.
    first_order_id = models.BigIntegerField(
        _("first paid order"), null=True, blank=True
    )
    first_order_at = models.DateTimeField(_("first paid at"), null=True, blank=True)
    first_order_amount = models.DecimalField(
        _("first order paid"), **MONEY, null=True, blank=True
    )

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-id"]
        permissions = [("review_referral", _("Can clear or reject held referrals"))]
        constraints = [
            models.CheckConstraint(
                condition=~Q(inviter=models.F("invitee")),
                name="marketing_referral_not_self",
            )
        ]
        indexes = [
            # velocity and "another friend of the same inviter" checks
            models.Index(
                fields=["inviter", "-created_at"], name="mkt_referral_inviter_idx"
            ),
            models.Index(fields=["review", "id"], name="mkt_referral_review_idx"),
        ]

    def __str__(self):
        return f"{self.inviter} → {self.invitee}"

    def reason_labels(self) -> list[str]:
        labels = dict(self.Reason.choices)
        return [str(labels.get(code, code)) for code in self.reasons]

    @property
    def pays(self) -> bool:
        return self.review in (self.Review.NOT_NEEDED, self.Review.CLEARED)


class ReferralReward(models.Model):
    """A reward paid: one per (referral, event, side), ever."""

    referral = models.ForeignKey(
        Referral,
        on_delete=models.PROTECT,
        related_name="rewards",
        verbose_name=_("referral"),
    )
    event = models.CharField(_("event"), max_length=16, choices=ReferralEvent)
    side = models.CharField(_("side"), max_length=8, choices=ReferralSide)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="referral_rewards",
        verbose_name=_("rewarded buyer"),
    )
    kind = models.CharField(_("reward"), max_length=16, choices=RewardKind)
    # yuan (wallet credit), points (points), 0 (coupon)
    amount = models.DecimalField(_("amount"), **MONEY)
    coupon_template = models.ForeignKey(
        "marketing.CouponTemplate",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("coupon"),
    )
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("paid at"), auto_now_add=True)

    class Meta:
        verbose_name = _("referral reward")
        verbose_name_plural = _("referral rewards")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "event", "side"],
                name="marketing_referral_reward_once",
            )
        ]
        indexes = [models.Index(fields=["user", "-id"], name="mkt_refreward_user_idx")]

    def __str__(self):
        return f"{self.get_event_display()} · {self.get_side_display()}"
