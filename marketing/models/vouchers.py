"""Vouchers (兑换券, issue 13): codes that redeem a SKU itself.

A batch is generated for one SKU; each voucher is one code, used once. The
code is never stored in clear: `code_hash` (an HMAC under CARD_HASH_KEY, like
card codes) finds it when a buyer types it, and `code_encrypted` (Fernet,
kameng.crypto) lets marketing export the batch again, each export audited.
Marketing keeps the order as plain numbers (no FK to orders).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class VoucherBatch(models.Model):
    sku = models.ForeignKey(
        "catalog.Sku",
        on_delete=models.PROTECT,
        related_name="voucher_batches",
        verbose_name=_("SKU"),
    )
    count = models.PositiveIntegerField(_("number of codes"))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    exports = models.PositiveIntegerField(_("times exported"), default=0)

    class Meta:
        verbose_name = _("voucher batch")
        verbose_name_plural = _("voucher batches")
        ordering = ["-id"]
        permissions = [("export_voucherbatch", _("Can export voucher codes"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")),
                name="marketing_voucherbatch_dates",
            ),
            models.CheckConstraint(
                condition=Q(count__gte=1), name="marketing_voucherbatch_count_gte_1"
            ),
        ]

    def __str__(self):
        return _("Batch %(id)s") % {"id": self.pk}


class Voucher(models.Model):
    class Status(models.TextChoices):
        UNUSED = "unused", _("Unused")
        USED = "used", _("Used")

    batch = models.ForeignKey(
        VoucherBatch,
        on_delete=models.PROTECT,
        related_name="vouchers",
        verbose_name=_("batch"),
    )
    code_hash = models.CharField(_("code fingerprint"), max_length=64, unique=True)
    code_encrypted = models.TextField(_("encrypted code"))
    tail = models.CharField(_("last characters"), max_length=4)
    status = models.CharField(
        _("status"), max_length=8, choices=Status, default=Status.UNUSED
    )
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("used by"),
    )
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    order_id = models.BigIntegerField(_("order id"), null=True, blank=True)
    order_no = models.CharField(_("order number"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["batch", "status"], name="marketing_voucher_batch_idx"
            ),
            models.Index(
                fields=["order_id"],
                condition=Q(order_id__isnull=False),
                name="marketing_voucher_order_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="unused", order_id__isnull=True)
                | Q(status="used", order_id__isnull=False),
                name="marketing_voucher_used_has_order",
            )
        ]

    def __str__(self):
        return f"****{self.tail}"
