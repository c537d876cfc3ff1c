"""Segments and strategies (issue 10).

Marketing never reads orders: what it knows of purchases comes from the users
app's per-buyer figures (users.BuyerStats) and from the categories that
kameng.events.order_paid carries (CategoryPurchase). The nightly run scores
every buyer who has bought (RfmScore) and refreshes every segment's members
(SegmentMember); strategies act on those members once a day at most.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

SCORE_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]


def score_field(verbose_name, **options):
    return models.PositiveSmallIntegerField(
        verbose_name, validators=SCORE_VALIDATORS, **options
    )


class RfmScore(models.Model):
    """A buyer's RFM quintiles (1 low … 5 high) from the last nightly scoring:
    recency (5 = bought most recently), frequency (paid orders), monetary (net
    spend). Only buyers with a paid order have a row."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="rfm",
        verbose_name=_("buyer"),
    )
    recency = score_field(_("recency score"))
    frequency = score_field(_("frequency score"))
    monetary = score_field(_("monetary score"))
    scored_on = models.DateField(_("scored on"))

    class Meta:
        verbose_name = _("RFM score")
        verbose_name_plural = _("RFM scores")
        constraints = [
            models.CheckConstraint(
                condition=Q(recency__gte=1, recency__lte=5)
                & Q(frequency__gte=1, frequency__lte=5)
                & Q(monetary__gte=1, monetary__lte=5),
                name="marketing_rfm_scores_1_to_5",
            )
        ]
        indexes = [
            models.Index(
                fields=["recency", "frequency", "monetary"],
                name="marketing_rfm_cell_idx",
            )
        ]

    def __str__(self):
        return f"R{self.recency} F{self.frequency} M{self.monetary}"


class CategoryPurchase(models.Model):
    """A buyer paid for something in this category (from order_paid events)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("buyer"),
    )
    category = models.ForeignKey(
        "catalog.Category",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("category"),
    )
    orders = models.PositiveIntegerField(_("paid orders"), default=0)
    last_bought_at = models.DateTimeField(_("last bought"))

    class Meta:
        verbose_name = _("category bought")
        verbose_name_plural = _("categories bought")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "category"], name="marketing_categorypurchase_once"
            )
        ]
        indexes = [
            models.Index(fields=["category", "user"], name="marketing_catbuy_cat_idx")
        ]

    def __str__(self):
        return f"{self.user_id} {self.category_id}"


class Segment(models.Model):
    """A group of buyers: a built-in rule, or an operator's filters."""

    class Builtin(models.TextChoices):
        HIGH_VALUE = "high_value", _("High value")
        LOW_FREQUENCY = "low_frequency", _("Low frequency")
        WOULD_BE = "would_be", _("Would-be buyers")
        DORMANT = "dormant", _("Dormant")
        NEW = "new", _("New buyers")

    name = models.CharField(_("name"), max_length=60, unique=True)
    builtin = models.CharField(
        _("built-in rule"), max_length=16, choices=Builtin, blank=True, default=""
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    # An operator's filters (ignored by built-in segments). All given must hold.
    levels = models.ManyToManyField(
        "users.MemberLevel",
        blank=True,
        related_name="+",
        verbose_name=_("member levels"),
        help_text=_("Any of these levels."),
    )
    min_spent = models.DecimalField(
        _("spent at least"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    max_spent = models.DecimalField(
        _("spent at most"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    ordered_within_days = models.PositiveIntegerField(
        _("ordered within (days)"),
        null=True,
        blank=True,
        help_text=_("Last paid order at most this many days ago."),
    )
    not_ordered_for_days = models.PositiveIntegerField(
        _("no order for (days)"),
        null=True,
        blank=True,
        help_text=_("Has ordered, but not in this many days."),
    )
    categories = models.ManyToManyField(
        "catalog.Category",
        blank=True,
        related_name="+",
        verbose_name=_("bought in categories"),
        help_text=_("Has paid for something in any of these categories."),
    )
    registered_from = models.DateField(_("registered from"), null=True, blank=True)
    registered_to = models.DateField(_("registered until"), null=True, blank=True)
    recency_min = score_field(_("recency score from"), null=True, blank=True)
    recency_max = score_field(_("recency score to"), null=True, blank=True)
    frequency_min = score_field(_("frequency score from"), null=True, blank=True)
    frequency_max = score_field(_("frequency score to"), null=True, blank=True)
    monetary_min = score_field(_("monetary score from"), null=True, blank=True)
    monetary_max = score_field(_("monetary score to"), null=True, blank=True)
    # Written by the nightly refresh (and when a segment is saved).
    member_count = models.PositiveIntegerField(_("members"), default=0)
    computed_at = models.DateTimeField(_("members counted at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    RANGES = (
        ("min_spent", "max_spent"),
        ("registered_from", "registered_to"),
        ("recency_min", "recency_max"),
        ("frequency_min", "frequency_max"),
        ("monetary_min", "monetary_max"),
    )

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["-builtin", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["builtin"],
                condition=~Q(builtin=""),
                name="marketing_segment_builtin_once",
            ),
            models.CheckConstraint(
                condition=Q(min_spent__isnull=True)
                | Q(max_spent__isnull=True)
                | Q(min_spent__lte=models.F("max_spent")),
                name="marketing_segment_spend_range",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        for low, high in self.RANGES:
            low_value, high_value = getattr(self, low), getattr(self, high)
            if low_value is not None and high_value is not None:
                if low_value > high_value:
                    errors[high] = _("Must not be below “%(field)s”.") % {
                        "field": self._meta.get_field(low).verbose_name
                    }
        for name in ("min_spent", "max_spent"):
            value = getattr(self, name)
            if value is not None and value < 0:
                errors[name] = _("Spend cannot be negative.")
        if errors:
            raise ValidationError(errors)


class SegmentMember(models.Model):
    """A buyer in a segment as of its last refresh."""

    segment = models.ForeignKey(
        Segment,
        on_delete=models.CASCADE,
        related_name="members",
        verbose_name=_("segment"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("buyer"),
    )

    class Meta:
        verbose_name = _("segment member")
        verbose_name_plural = _("segment members")
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "user"], name="marketing_segmentmember_once"
            )
        ]
        indexes = [models.Index(fields=["user"], name="marketing_member_user_idx")]

    def __str__(self):
        return f"{self.segment_id} {self.user_id}"


class Strategy(models.Model):
    """A rule “segment → action”, run on its schedule (at most once a day)."""

    class Action(models.TextChoices):
        ISSUE_COUPON = "issue_coupon", _("Issue a coupon")
        PRIORITY_SUPPORT = "priority_support", _("Priority support")
        RECOMMEND = "recommend", _("Recommend products")

    class Schedule(models.TextChoices):
        DAILY = "daily", _("Every day")
        WEEKLY = "weekly", _("Once a week")
        MONTHLY = "monthly", _("On the 1st of each month")

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    name = models.CharField(_("name"), max_length=60, unique=True)
    segment = models.ForeignKey(
        Segment,
        on_delete=models.PROTECT,
        related_name="strategies",
        verbose_name=_("segment"),
    )
    action = models.CharField(_("action"), max_length=20, choices=Action)
    schedule = models.CharField(
        _("schedule"), max_length=8, choices=Schedule, default=Schedule.DAILY
    )
    weekday = models.PositiveSmallIntegerField(
        _("weekday"),
        choices=Weekday,
        default=Weekday.MONDAY,
        help_text=_("For a weekly strategy."),
    )
    products = models.ManyToManyField(
        "catalog.Product",
        blank=True,
        related_name="+",
        verbose_name=_("products to recommend"),
    )
    coupon_template_id = models.PositiveBigIntegerField(
        _("coupon template"), null=True, blank=True
    )
    lasts_days = models.PositiveSmallIntegerField(
        _("lasts (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("How long priority support or a recommendation lasts."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("strategy")
        verbose_name_plural = _("strategies")
        ordering = ["name"]
        permissions = [("run_strategy", _("Can run a strategy now"))]

    def __str__(self):
        return self.name


class StrategyRun(models.Model):
    """One day's run of a strategy. The unique (strategy, day) makes a second
    run on the same day a no-op, whoever starts it."""

    class Outcome(models.TextChoices):
        DONE = "done", _("Done")
        UNAVAILABLE = "unavailable", _("Action not available yet")

    strategy = models.ForeignKey(
        Strategy,
        on_delete=models.CASCADE,
        related_name="runs",
        verbose_name=_("strategy"),
    )
    run_on = models.DateField(_("day"))
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome)
    buyers = models.PositiveIntegerField(_("buyers acted on"), default=0)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("run by"),
    )
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("strategy run")
        verbose_name_plural = _("strategy runs")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["strategy", "run_on"], name="marketing_strategyrun_once_a_day"
            )
        ]

    def __str__(self):
        return f"{self.strategy_id} {self.run_on}"


class StrategyRunBuyer(models.Model):
    """A buyer a run acted on (what it did: the run's strategy and summary)."""

    run = models.ForeignKey(
        StrategyRun,
        on_delete=models.CASCADE,
        related_name="targets",
        verbose_name=_("run"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("buyer"),
    )

    class Meta:
        verbose_name = _("buyer acted on")
        verbose_name_plural = _("buyers acted on")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "user"], name="marketing_runbuyer_once"
            )
        ]
        indexes = [models.Index(fields=["user"], name="marketing_runbuyer_user_idx")]

    def __str__(self):
        return f"{self.run_id} {self.user_id}"


class PrioritySupport(models.Model):
    """A buyer whose tickets sort first until `expires_on` (orders reads it
    through marketing.selectors.has_priority_support)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="priority_support",
        verbose_name=_("buyer"),
    )
    strategy = models.ForeignKey(
        Strategy,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("strategy"),
    )
    granted_on = models.DateField(_("granted on"))
    expires_on = models.DateField(_("expires on"))

    class Meta:
        verbose_name = _("priority support")
        verbose_name_plural = _("priority support")

    def __str__(self):
        return str(self.user_id)


class PromotedProduct(models.Model):
    """A product a strategy recommends to one buyer until `expires_on`; the
    storefront's recommendations read it (marketing.selectors)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("buyer"),
    )
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("product"),
    )
    strategy = models.ForeignKey(
        Strategy,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("strategy"),
    )
    promoted_on = models.DateField(_("promoted on"))
    expires_on = models.DateField(_("expires on"))

    class Meta:
        verbose_name = _("promoted product")
        verbose_name_plural = _("promoted products")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "product"], name="marketing_promotedproduct_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["user", "-promoted_on"], name="marketing_promoted_user_idx"
            )
        ]

    def __str__(self):
        return f"{self.user_id} {self.product_id}"
