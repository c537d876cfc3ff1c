from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models.products import Sku


class StockAlert(models.Model):
    """A stock problem on one SKU; at most one open alert per SKU and kind."""

    class Kind(models.TextChoices):
        LOW = "low", _("Low stock")
        OUT = "out", _("Sold out")
        DEGRADED = "degraded", _("Supplier degraded")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    sku = models.ForeignKey(
        Sku, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("SKU")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind)
    status = models.CharField(
        _("status"), max_length=12, choices=Status, default=Status.OPEN
    )
    message = models.CharField(_("message"), max_length=300)
    auto_paused = models.BooleanField(_("SKU paused by this alert"), default=False)
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    notified_at = models.DateTimeField(_("mailed at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stock alert")
        verbose_name_plural = _("stock alerts")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sku", "kind"],
                condition=Q(status="open"),
                name="catalog_alert_one_open_per_kind",
            )
        ]
        indexes = [
            models.Index(
                fields=["status", "-opened_at"], name="catalog_alert_status_idx"
            )
        ]

    def __str__(self):
        return f"{self.sku_id} {self.kind}"
