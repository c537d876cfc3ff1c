"""Coupons (issue 13): templates and the coupons issued from them.

A CouponTemplate says what a coupon takes off (满减 / 折扣 / 无门槛), where it
applies (scope), how long it lasts, how many exist and whether it stacks with
member-level prices and flash sales. A Coupon is one template issued to one
buyer, with its validity fixed at issue. Order ids are plain integers
(marketing never imports orders).
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0.00")


def money_field(verbose_name, **options):
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **options)


class CouponTemplate(models.Model):
    class Kind(models.TextChoices):
        AMOUNT_OFF = "amount_off", _("Amount off above a threshold (满减)")
        PERCENT_OFF = "percent_off", _("Percent off with a cap (折扣)")
        NO_THRESHOLD = "no_threshold", _("Amount off without threshold (无门槛)")

    class Scope(models.TextChoices):
        ALL = "all", _("Every product")
        CATEGORIES = "categories", _("Chosen categories")
        PRODUCTS = "products", _("Chosen products")
        SKUS = "skus", _("Chosen SKUs")

    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    amount = money_field(
        _("amount off"),
        null=True,
        blank=True,
        help_text=_("满减 and 无门槛: how much comes off the order."),
    )
    threshold = money_field(
        _("threshold"),
        default=ZERO,
        help_text=_("The order subtotal needed before the coupon applies (0: none)."),
    )
    percent = models.DecimalField(
        _("percent off"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(99)],
        # xgettext:no-python-format ("15% off" is no placeholder)
        help_text=_("折扣: e.g. 15 takes 15% off (85折)."),
    )
    cap = money_field(
        _("cap"),
        null=True,
        blank=True,
        help_text=_("折扣: the most a percent-off coupon takes off."),
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    valid_days = models.PositiveSmallIntegerField(
        _("valid for days after issue"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("Either fixed dates or a number of days after issue."),
    )
    scope = models.CharField(
        _("scope"), max_length=12, choices=Scope, default=Scope.ALL
    )
    categories = models.ManyToManyField(
        "catalog.Category",
        blank=True,
        related_name="+",
        verbose_name=_("categories"),
    )
    products = models.ManyToManyField(
        "catalog.Product", blank=True, related_name="+", verbose_name=_("products")
    )
    skus = models.ManyToManyField(
        "catalog.Sku", blank=True, related_name="+", verbose_name=_("SKUs")
    )
    per_buyer_limit = models.PositiveSmallIntegerField(
        _("per-buyer limit"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("How many coupons of this template one buyer may hold."),
    )
    total_quantity = models.PositiveIntegerField(
        _("total quantity"),
        null=True,
        blank=True,
        help_text=_("Blank: unlimited."),
    )
    issued_count = models.PositiveIntegerField(_("issued"), default=0, editable=False)
    stacks_with_member_price = models.BooleanField(
        _("stacks with member-level prices"), default=True
    )
    stacks_with_flash_sale = models.BooleanField(
        _("stacks with flash sales"), default=False
    )
    return_on_refund = models.BooleanField(
        _("returned when the order is refunded"),
        default=False,
        help_text=_(
            "A cancelled order always returns its coupon; a refunded one only "
            "when this is ticked."
        ),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("coupon template")
        verbose_name_plural = _("coupon templates")
        ordering = ["-id"]
        permissions = [
            ("issue_coupon", _("Can issue coupons")),
            ("view_coupon_report", _("Can view the coupon report")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="amount_off",
                        amount__isnull=False,
                        amount__gt=0,
                        threshold__gt=0,
                    )
                    | Q(
                        kind="percent_off",
                        percent__isnull=False,
                        cap__isnull=False,
                        percent__gt=0,
                        percent__lt=100,
                        cap__gt=0,
                    )
                    | Q(
                        kind="no_threshold",
                        amount__isnull=False,
                        amount__gt=0,
                        threshold=0,
                    )
                ),
                name="marketing_coupontemplate_kind_values",
            ),
            models.CheckConstraint(
                condition=Q(threshold__gte=0),
                name="marketing_coupontemplate_threshold_gte_0",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        valid_days__isnull=True,
                        valid_from__isnull=False,
                        valid_until__isnull=False,
                        valid_until__gt=models.F("valid_from"),
                    )
                    | Q(
                        valid_days__gt=0,
                        valid_from__isnull=True,
                        valid_until__isnull=True,
                    )
                ),
                name="marketing_coupontemplate_validity",
            ),
            models.CheckConstraint(
                condition=Q(per_buyer_limit__gte=1),
                name="marketing_coupontemplate_per_buyer_gte_1",
            ),
            models.CheckConstraint(
                condition=Q(total_quantity__isnull=True)
                | Q(issued_count__lte=models.F("total_quantity")),
                name="marketing_coupontemplate_issued_lte_total",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.kind in (self.Kind.AMOUNT_OFF, self.Kind.NO_THRESHOLD):
            if self.amount is None or self.amount <= 0:
                errors["amount"] = gettext("Enter the amount the coupon takes off.")
        if self.kind == self.Kind.AMOUNT_OFF and (
            self.threshold is None or self.threshold <= 0
        ):
            errors["threshold"] = gettext("满减 needs a threshold above ¥0.")
        if self.kind == self.Kind.NO_THRESHOLD and self.threshold:
            errors["threshold"] = gettext("无门槛 has no threshold: leave it at 0.")
        if self.kind == self.Kind.PERCENT_OFF:
            if self.percent is None or not 0 < self.percent < 100:
                errors["percent"] = gettext("Enter a percent off between 0 and 100.")
            if self.cap is None or self.cap <= 0:
                errors["cap"] = gettext("折扣 needs a cap above ¥0.")
        fixed = self.valid_from is not None or self.valid_until is not None
        if self.valid_days and fixed:
            errors["valid_days"] = gettext(
                "Choose fixed dates or a number of days after issue, not both."
            )
        elif not self.valid_days:
            if self.valid_from is None or self.valid_until is None:
                errors["valid_until"] = gettext(
                    "Enter both dates, or a number of days after issue."
                )
            elif self.valid_until <= self.valid_from:
                errors["valid_until"] = gettext("The end must come after the start.")
        if (
            self.total_quantity is not None
            and self.pk
            and self.total_quantity < self.issued_count
        ):
            errors["total_quantity"] = gettext(
                "%(issued)s are already issued: the total cannot be lower."
            ) % {"issued": self.issued_count}
        if errors:
            raise ValidationError(errors)


class Coupon(models.Model):
    """One coupon in one buyer's hands. "Expired" is not a stored state: an
    available coupon past valid_until is expired."""

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")
        USED = "used", _("Used")
        VOID = "void", _("Void")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Issued by hand")
        BULK = "bulk", _("Bulk issue")
        REDEEM_CODE = "redeem_code", _("Redeem code")
        SEGMENT = "segment", _("Segment")
        SIGNUP = "signup", _("Signup gift")
        FIRST_ORDER = "first_order", _("First-order reward")
        BIRTHDAY = "birthday", _("Birthday gift")
        MONTHLY = "monthly", _("Monthly coupon")
        WINBACK = "winback", _("Win-back")
        STRATEGY = "strategy", _("Strategy")
        REFERRAL = "referral", _("Referral")

    template = models.ForeignKey(
        CouponTemplate,
        on_delete=models.PROTECT,
        related_name="coupons",
        verbose_name=_("template"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="coupons",
        verbose_name=_("owner"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.AVAILABLE
    )
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    source = models.CharField(_("source"), max_length=12, choices=Source)
    issue_key = models.CharField(
        _("issue"),
        max_length=80,
        help_text=_("One issue gives a buyer at most one coupon of a template."),
    )
    order_id = models.BigIntegerField(_("order"), null=True, blank=True, db_index=True)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    order_amount = money_field(_("order amount"), null=True, blank=True)
    discount = money_field(_("discount"), null=True, blank=True)
    cost_amount = money_field(_("cost of goods"), null=True, blank=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "owner", "issue_key"],
                name="marketing_coupon_issue_once",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gt=models.F("valid_from")),
                name="marketing_coupon_validity",
            ),
            models.CheckConstraint(
                condition=~Q(status="used") | Q(order_id__isnull=False),
                name="marketing_coupon_used_has_order",
            ),
        ]
        indexes = [
            models.Index(
                fields=["owner", "status", "valid_until"],
                name="marketing_coupon_owner_idx",
            ),
            models.Index(
                fields=["template", "status"], name="marketing_coupon_tpl_idx"
            ),
        ]

    def __str__(self):
        return f"{self.template_id}:{self.owner_id}:{self.pk}"

    def is_expired(self, at=None) -> bool:
        return self.status == self.Status.AVAILABLE and self.valid_until <= (
            at or timezone.now()
        )

    def display_status(self, at=None) -> str:
        if self.is_expired(at):
            return gettext("Expired")
        return self.get_status_display()
