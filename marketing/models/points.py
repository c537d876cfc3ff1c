"""Points (积分, issue 13): a ledger per buyer, reviews, the points mall, settings.

The ledger keeps two invariants, held by marketing.points (every write locks
the account row first) and by check constraints:

- an account's balance is the sum of its entries' amounts, and never below 0;
- the unspent part of the positive entries (`remaining`) adds up to the
  balance: spending, expiry and take-backs consume it oldest-expiry first
  (FIFO), so expiry only ever takes earned points still unspent.

Orders are referred to by plain ids (marketing never imports orders).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class PointsAccount(models.Model):
    """A buyer's points balance. Changed only by marketing.points."""

    buyer = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="points_account",
        verbose_name=_("buyer"),
    )
    balance = models.IntegerField(_("points balance"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        permissions = [("adjust_points", _("Can adjust points balances"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="marketing_points_balance_gte_0"
            )
        ]

    def __str__(self):
        return str(self.buyer)


class PointsEntry(models.Model):
    """One change of one account's points. Balance == sum(amount), always."""

    class Kind(models.TextChoices):
        EARN_PURCHASE = "earn_purchase", _("Earned on a purchase")
        CHECKIN = "checkin", _("Daily check-in")
        REVIEW = "review", _("Review reward")
        SPEND_CHECKOUT = "spend_checkout", _("Used at checkout")
        SPEND_MALL = "spend_mall", _("Redeemed in the points mall")
        RETURN = "return", _("Returned (order cancelled or refunded)")
        EXPIRE = "expire", _("Expired")
        REFUND_TAKEBACK = "refund_takeback", _("Taken back (order refunded)")
        ADJUST = "adjust", _("Adjusted by staff")

    account = models.ForeignKey(
        PointsAccount,
        on_delete=models.PROTECT,
        related_name="entries",
        verbose_name=_("points account"),
    )
    amount = models.IntegerField(_("points"))
    balance_after = models.IntegerField(_("balance after"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # What the entry is for, unique per account and kind when set (a second
    # earn for the same order, a second check-in the same day: refused).
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    order_id = models.BigIntegerField(_("order id"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    # A positive entry is a bucket: earned at, expires at (None: never), and
    # how much of it is still unspent.
    earned_at = models.DateTimeField(_("earned at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    remaining = models.IntegerField(_("unspent"), default=0)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        indexes = [
            models.Index(fields=["account", "-id"], name="marketing_points_acct_idx"),
            models.Index(
                fields=["order_id"],
                condition=Q(order_id__isnull=False),
                name="marketing_points_order_idx",
            ),
            models.Index(
                fields=["expires_at"],
                condition=Q(remaining__gt=0),
                name="marketing_points_unspent_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount=0), name="marketing_points_amount_not_0"
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0),
                name="marketing_points_after_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(remaining__gte=0)
                & (Q(amount__gt=0, remaining__lte=F("amount")) | Q(remaining=0)),
                name="marketing_points_remaining_in_bucket",
            ),
            models.UniqueConstraint(
                fields=["account", "kind", "reference"],
                condition=~Q(reference=""),
                name="marketing_points_once_per_reference",
            ),
        ]

    def __str__(self):
        return f"{self.account_id} {self.amount:+d}"


class PointsCheckin(models.Model):
    """One daily check-in: one row per buyer and Asia/Shanghai day."""

    account = models.ForeignKey(
        PointsAccount,
        on_delete=models.PROTECT,
        related_name="checkins",
        verbose_name=_("points account"),
    )
    day = models.DateField(_("day"))
    points = models.PositiveIntegerField(_("points"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "day"], name="marketing_checkin_once_a_day"
            )
        ]

    def __str__(self):
        return f"{self.account_id} {self.day}"


class PointsReview(models.Model):
    """A buyer's review of a delivered order (stars + text), one per order.
    Shown and rewarded only once staff approve it. Keyed by the order's id:
    orders checks the order is the buyer's and delivered before asking."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for moderation")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    order_id = models.BigIntegerField(_("order id"), unique=True)
    order_no = models.CharField(_("order number"), max_length=24)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="points_reviews",
        verbose_name=_("buyer"),
    )
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.PROTECT,
        related_name="points_reviews",
        verbose_name=_("product"),
    )
    stars = models.PositiveSmallIntegerField(
        _("stars"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    text = models.TextField(_("review"), max_length=1000)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("moderated by"),
    )
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("order review")
        verbose_name_plural = _("order reviews")
        indexes = [
            models.Index(
                fields=["product", "-id"],
                condition=Q(status="approved"),
                name="marketing_review_shown_idx",
            ),
            models.Index(
                fields=["id"],
                condition=Q(status="pending"),
                name="marketing_review_queue_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(stars__gte=1, stars__lte=5),
                name="marketing_review_stars_1_5",
            )
        ]

    def __str__(self):
        return self.order_no


class PointsMallItem(models.Model):
    """A SKU offered for points in the points mall."""

    sku = models.OneToOneField(
        "catalog.Sku",
        on_delete=models.PROTECT,
        related_name="points_mall_item",
        verbose_name=_("SKU"),
    )
    points = models.PositiveIntegerField(
        _("points price"), validators=[MinValueValidator(1)]
    )
    is_active = models.BooleanField(_("on offer"), default=True)
    sort = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("points mall item")
        verbose_name_plural = _("points mall items")
        ordering = ["sort", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(points__gte=1), name="marketing_mall_points_gte_1"
            )
        ]

    def __str__(self):
        return str(self.sku)


class PointsSettings(models.Model):
    """The points rules, one row (pk 1)."""

    earn_per_yuan = models.DecimalField(
        _("points per yuan spent"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("For buyers whose level has no rate of its own."),
    )
    points_per_yuan_off = models.PositiveIntegerField(
        _("points for ¥1 off"),
        default=100,
        validators=[MinValueValidator(1)],
        help_text=_("Exchange rate at checkout: this many points take ¥1 off."),
    )
    max_share_percent = models.PositiveSmallIntegerField(
        _("max share of the order (%)"),
        default=50,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    checkin_points = models.PositiveIntegerField(_("points per check-in"), default=5)
    review_points = models.PositiveIntegerField(
        _("points per approved review"), default=20
    )
    expiry_years = models.PositiveSmallIntegerField(
        _("expiry (years after the year earned)"),
        default=1,
        validators=[MaxValueValidator(10)],
        help_text=_(
            "1: points earned in a year expire at the end of the next year. "
            "0: they never expire."
        ),
    )
    notice_days = models.PositiveSmallIntegerField(
        _("notice days before expiry"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("points settings")
        verbose_name_plural = _("points settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(points_per_yuan_off__gte=1),
                name="marketing_points_rate_gte_1",
            ),
            models.CheckConstraint(
                condition=Q(max_share_percent__lte=100),
                name="marketing_points_share_lte_100",
            ),
        ]

    def __str__(self):
        return str(_("Points settings"))


class PointsLevelRate(models.Model):
    """Points per yuan of paid spend for one member level."""

    settings = models.ForeignKey(
        PointsSettings,
        on_delete=models.CASCADE,
        related_name="level_rates",
        verbose_name=_("points settings"),
    )
    level = models.OneToOneField(
        "users.MemberLevel",
        on_delete=models.CASCADE,
        related_name="points_rate",
        verbose_name=_("member level"),
    )
    earn_per_yuan = models.DecimalField(
        _("points per yuan spent"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )

    class Meta:
        verbose_name = _("level earn rate")
        verbose_name_plural = _("level earn rates")
        constraints = [
            models.CheckConstraint(
                condition=Q(earn_per_yuan__gte=0),
                name="marketing_points_level_rate_gte_0",
            )
        ]

    def __str__(self):
        return str(self.level)


class PointsExpiryNotice(models.Model):
    """What the buyer sees on the shop (points page, account page) before
    points expire: written once per account and expiry date by the beat task."""

    account = models.ForeignKey(
        PointsAccount,
        on_delete=models.CASCADE,
        related_name="expiry_notices",
        verbose_name=_("points account"),
    )
    expires_at = models.DateTimeField(_("expires at"))
    points = models.PositiveIntegerField(_("points"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("expiry notice")
        verbose_name_plural = _("expiry notices")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "expires_at"], name="marketing_notice_once"
            )
        ]

    def __str__(self):
        return f"{self.account_id} {self.points}"
