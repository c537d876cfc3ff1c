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
