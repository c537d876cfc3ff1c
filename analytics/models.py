from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Insight(models.Model):
    """No table: where the permission of the insight pages lives (Django keeps
    permissions on models). The reports of the analytics issue reuse it."""

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = _("insight")
        verbose_name_plural = _("insights")
        permissions = [("view_insights", _("Can see the insight pages"))]

    def __str__(self):
        return str(self._meta.verbose_name)


class SalesRollup(models.Model):
    """Sales of one shop hour (Asia/Shanghai) × SKU × member level × payment
    method, counted on the hour each order was paid. Rebuilt a whole day at a
    time from orders (analytics.rollups), so it always equals a direct query;
    refunds stay on the hour of the sale. Ids, not foreign keys: a rollup never
    blocks deleting a SKU or a level, and the rebuild writes it in bulk."""

    day = models.DateField(_("day"))
    hour = models.PositiveSmallIntegerField(_("hour"))
    sku_id = models.PositiveBigIntegerField(_("SKU"))
    category_id = models.PositiveBigIntegerField(
        _("category"), help_text=_("The top-level category.")
    )
    member_level_id = models.PositiveBigIntegerField(
        _("member level"), null=True, blank=True
    )
    guest = models.BooleanField(_("guest"), default=False)
    payment_method = models.CharField(_("payment method"), max_length=12, blank=True)
    orders = models.PositiveIntegerField(_("orders"))
    units = models.PositiveIntegerField(_("units"))
    gmv = models.DecimalField(_("GMV"), max_digits=16, decimal_places=2)
    refunds = models.DecimalField(_("refunds"), max_digits=16, decimal_places=2)
    cost = models.DecimalField(
        _("estimated cost"),
        max_digits=16,
        decimal_places=2,
        help_text=_("SKU cost price when counted × units, orders kept only."),
    )
    buyers = models.PositiveIntegerField(_("unique buyers"))
    coupon_cost = models.DecimalField(
        _("coupon cost"),
        max_digits=16,
        decimal_places=2,
        default=0,
        help_text=_("What coupons took off these orders (already out of GMV)."),
    )

    class Meta:
        verbose_name = _("sales rollup")
        verbose_name_plural = _("sales rollups")
        indexes = [
            models.Index(fields=["day", "hour"], name="analytics_rollup_day_idx"),
            models.Index(
                fields=["category_id", "day"], name="analytics_rollup_cat_idx"
            ),
        ]

    def __str__(self):
        return f"{self.day} {self.hour:02d} {self.sku_id}"


class BuyerDay(models.Model):
    """One signed-in user's shop day (Asia/Shanghai): what they were seen doing
    and what they bought, rebuilt a whole day at a time with the sales rollups
    (analytics.rollups). Unique buyers, the funnel and the signup cohorts read
    this table: a period's buyers are its distinct user ids, however many hours
    and SKUs they bought in. Ids, not foreign keys, as in SalesRollup."""

    day = models.DateField(_("day"))
    user_id = models.PositiveBigIntegerField(_("user"))
    member_level_id = models.PositiveBigIntegerField(
        _("member level"),
        null=True,
        blank=True,
        help_text=_("The buyer's level when the day was counted (buyers only)."),
    )
    visits = models.PositiveIntegerField(
        _("visits"), default=0, help_text=_("Shop logins, searches and product views.")
    )
    views = models.PositiveIntegerField(_("product views"), default=0)
    placed = models.PositiveIntegerField(
        _("orders placed"), default=0, help_text=_("Orders created this day.")
    )
    placed_paid = models.PositiveIntegerField(
        _("placed and paid"),
        default=0,
        help_text=_("Orders created this day that were paid (on any day)."),
    )
    orders = models.PositiveIntegerField(
        _("orders paid"), default=0, help_text=_("Orders paid this day.")
    )
    gmv = models.DecimalField(_("GMV"), max_digits=16, decimal_places=2, default=0)
    refunds = models.DecimalField(
        _("refunds"), max_digits=16, decimal_places=2, default=0
    )
    first_paid_at = models.DateTimeField(_("first payment"), null=True, blank=True)
    second_paid_at = models.DateTimeField(
        _("second payment"),
        null=True,
        blank=True,
        help_text=_("The next later payment of the same day, if any."),
    )

    class Meta:
        verbose_name = _("buyer day")
        verbose_name_plural = _("buyer days")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "user_id"], name="analytics_buyerday_once"
            )
        ]
        indexes = [
            models.Index(fields=["user_id", "day"], name="analytics_buyerday_user_idx")
        ]

    def __str__(self):
        return f"{self.day} {self.user_id}"


class SalesSlice(models.Model):
    """What the dashboard reads instead of SalesRollup's hour × SKU × level ×
    channel cells: the same sums with fewer dimensions (no payment method, and
    either no hour or no SKU), a few hundred rows a day, made from the rollups
    whenever their day is rebuilt (analytics.rollups)."""

    day = models.DateField(_("day"))
    category_id = models.PositiveBigIntegerField(
        _("category"), help_text=_("The top-level category.")
    )
    member_level_id = models.PositiveBigIntegerField(
        _("member level"), null=True, blank=True
    )
    guest = models.BooleanField(_("guest"), default=False)
    orders = models.PositiveIntegerField(_("orders"))
    units = models.PositiveIntegerField(_("units"))
    gmv = models.DecimalField(_("GMV"), max_digits=16, decimal_places=2)
    refunds = models.DecimalField(_("refunds"), max_digits=16, decimal_places=2)
    cost = models.DecimalField(_("estimated cost"), max_digits=16, decimal_places=2)
    coupon_cost = models.DecimalField(
        _("coupon cost"), max_digits=16, decimal_places=2, default=0
    )

    class Meta:
        abstract = True


class SalesDay(SalesSlice):
    """Sales of one shop day × SKU × member level (all hours and channels)."""

    sku_id = models.PositiveBigIntegerField(_("SKU"))

    class Meta:
        verbose_name = _("daily sales by SKU")
        verbose_name_plural = _("daily sales by SKU")
        indexes = [models.Index(fields=["day"], name="analytics_salesday_day_idx")]

    def __str__(self):
        return f"{self.day} {self.sku_id}"


class SalesHour(SalesSlice):
    """Sales of one shop hour × top-level category × member level (all SKUs
    and channels)."""

    hour = models.PositiveSmallIntegerField(_("hour"))

    class Meta:
        verbose_name = _("hourly sales by category")
        verbose_name_plural = _("hourly sales by category")
        indexes = [models.Index(fields=["day"], name="analytics_saleshour_day_idx")]

    def __str__(self):
        return f"{self.day} {self.hour:02d} {self.category_id}"


class BuyerBitmap(models.Model):
    """The signed-in users of one kind over a block of shop days, as a bitmap
    of user ids (bit n is user n: byte n // 8, bit n % 8), zlib-compressed.
    Written from the buyer days (analytics.rollups) for every day and for the
    aligned blocks of 2, 4 … 32 days holding it (a block starts on a day whose
    ordinal its span divides), so a period's unique users are the OR of a few
    blocks and a popcount, however many users the period had. No row: nobody.
    Buyers are also kept per member level (`key`), for the level drill-down."""

    class Kind(models.TextChoices):
        VISITOR = "visitor", _("Visited the shop")
        VIEWER = "viewer", _("Viewed a product")
        PLACED = "placed", _("Placed an order")
        PLACED_PAID = "placed_paid", _("Placed an order paid since")
        BUYER = "buyer", _("Paid an order")

    day = models.DateField(_("first day"))
    span = models.PositiveSmallIntegerField(_("days"), default=1)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind)
    key = models.CharField(
        _("breakdown"),
        max_length=24,
        default="all",
        help_text=_("all, or level:<member level id> (level:0 without a level)."),
    )
    bits = models.BinaryField(_("user bitmap (zlib)"))

    class Meta:
        verbose_name = _("buyer bitmap")
        verbose_name_plural = _("buyer bitmaps")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "span", "kind", "key"], name="analytics_bitmap_once"
            )
        ]

    def __str__(self):
        return f"{self.day} +{self.span} {self.kind} {self.key}"


class RollupState(models.Model):
    """How far the incremental refresh has read: orders changed after
    `orders_changed_until` are not counted yet (one row, name "sales")."""

    name = models.CharField(_("name"), max_length=20, unique=True)
    orders_changed_until = models.DateTimeField(_("orders changed until"))

    class Meta:
        verbose_name = _("rollup state")
        verbose_name_plural = _("rollup states")

    def __str__(self):
        return self.name


class DemandForecast(models.Model):
    """A SKU's demand for the next 30 days, refreshed nightly
    (analytics.forecasts), with the back-tested errors of the method used and of
    the seasonal naive forecast, and for card SKUs the codes to import."""

    class Method(models.TextChoices):
        HOLT_WINTERS = "holt_winters", _("Holt-Winters (weekly season)")
        SEASONAL_NAIVE = "seasonal_naive", _("Seasonal naive (same weekday)")
        NO_SALES = "no_sales", _("No sales in the history")

    sku = models.OneToOneField(
        "catalog.Sku",
        on_delete=models.CASCADE,
        related_name="demand_forecast",
        verbose_name=_("SKU"),
    )
    computed_at = models.DateTimeField(_("computed at"))
    first_day = models.DateField(_("first forecast day"))
    history_days = models.PositiveSmallIntegerField(_("days of history"))
    method = models.CharField(_("method"), max_length=20, choices=Method)
    # Units per day from first_day on (a unit count, not money), as strings.
    daily = models.JSONField(_("units per day"), default=list)
    next_7_days = models.DecimalField(
        _("units, next 7 days"), max_digits=12, decimal_places=1
    )
    next_30_days = models.DecimalField(
        _("units, next 30 days"), max_digits=12, decimal_places=1
    )
    wape = models.DecimalField(
        _("back-tested error (WAPE %)"),
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
    )
    naive_wape = models.DecimalField(
        _("seasonal naive error (WAPE %)"),
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
    )
    safety_stock = models.PositiveIntegerField(_("safety stock"), default=0)
    available = models.PositiveIntegerField(_("codes available"), null=True, blank=True)
    restock = models.PositiveIntegerField(
        _("codes to import"),
        null=True,
        blank=True,
        help_text=_("Card SKUs only: covers the forecast plus the safety stock."),
    )

    class Meta:
        verbose_name = _("demand forecast")
        verbose_name_plural = _("demand forecasts")

    def __str__(self):
        return f"{self.sku_id} {self.first_day}"


class ReportTemplate(models.Model):
    """A report managers receive: the weekly sales report (周报), the monthly user
    analysis (月报) or a custom one (metrics × a dimension × filters × period);
    made on demand or on its cron schedule, as Excel and/or PDF, mailed to its
    recipients (analytics.reports)."""

    class Kind(models.TextChoices):
        WEEKLY_SALES = "weekly_sales", _("Weekly sales report")
        MONTHLY_USERS = "monthly_users", _("Monthly user analysis")
        CUSTOM = "custom", _("Custom report")

    class PeriodChoice(models.TextChoices):
        LAST_WEEK = "last_week", _("Last week (Monday to Sunday)")
        LAST_MONTH = "last_month", _("Last calendar month")
        LAST_7_DAYS = "last_7_days", _("Last 7 days")
        LAST_30_DAYS = "last_30_days", _("Last 30 days")

    class Dimension(models.TextChoices):
        DAY = "day", _("Day")
        CATEGORY = "category", _("Category")
        SKU = "sku", _("SKU")
        LEVEL = "level", _("Member level")

    class Formats(models.TextChoices):
        BOTH = "both", _("Excel and PDF")
        EXCEL = "excel", _("Excel only")
        PDF = "pdf", _("PDF only")

    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("report"), max_length=20, choices=Kind)
    period = models.CharField(
        _("period"), max_length=20, choices=PeriodChoice, default=PeriodChoice.LAST_WEEK
    )
    metrics = models.JSONField(
        _("metrics"), default=list, blank=True, help_text=_("Custom reports only.")
    )
    dimension = models.CharField(
        _("dimension"), max_length=20, choices=Dimension, default=Dimension.DAY
    )
    category = models.ForeignKey(
        "catalog.Category",
        verbose_name=_("category filter"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    formats = models.CharField(
        _("files"), max_length=10, choices=Formats, default=Formats.BOTH
    )
    recipients = models.TextField(
        _("recipients"),
        blank=True,
        help_text=_("Email addresses, one per line."),
    )
    schedule = models.CharField(
        _("schedule (cron)"),
        max_length=60,
        blank=True,
        help_text=_(
            "Minute hour day-of-month month day-of-week, Asia/Shanghai time; "
            "e.g. 0 8 * * 1 is every Monday at 08:00. Empty: on demand only."
        ),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Scheduled runs show what the owner may see."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("report template")
        verbose_name_plural = _("report templates")
        ordering = ["name"]

    def __str__(self):
        return self.name


class ReportRun(models.Model):
    """One making of a report: its progress, its files and whom it was mailed to."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    template = models.ForeignKey(
        ReportTemplate,
        verbose_name=_("report template"),
        on_delete=models.CASCADE,
        related_name="runs",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    scheduled = models.BooleanField(_("scheduled"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    with_cost = models.BooleanField(_("with cost and profit"), default=False)
    excel_file = models.CharField(_("Excel file"), max_length=200, blank=True)
    pdf_file = models.CharField(_("PDF file"), max_length=200, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    mailed_to = models.TextField(_("mailed to"), blank=True)
    mailed_at = models.DateTimeField(_("mailed at"), null=True, blank=True)
    mail_file = models.CharField(_("mail file"), max_length=300, blank=True)
    failure = models.CharField(_("failure"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("report run")
        verbose_name_plural = _("report runs")
        indexes = [
            models.Index(
                fields=["template", "-created_at"], name="analytics_run_template_idx"
            )
        ]

    def __str__(self):
        return f"{self.template} {self.first_day}–{self.last_day}"
