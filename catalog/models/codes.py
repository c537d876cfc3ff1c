from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models.products import Sku


class CardBatch(models.Model):
    """One uploaded file of card codes (卡密) and what became of its rows."""

    class Status(models.TextChoices):
        CHECKING = "checking", _("Checking")
        PREVIEWED = "previewed", _("Previewed")
        QUEUED = "queued", _("Queued")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")
        VOIDED = "voided", _("Voided")

    sku = models.ForeignKey(
        Sku,
        on_delete=models.PROTECT,
        related_name="card_batches",
        verbose_name=_("SKU"),
    )
    file_name = models.CharField(_("file name"), max_length=200)
    file_format = models.CharField(_("format"), max_length=8)
    upload = models.FileField(
        _("uploaded file"), upload_to="imports/codes/%Y/%m/", blank=True, max_length=200
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status, default=Status.PREVIEWED
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    imported = models.PositiveIntegerField(_("imported"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    voided = models.PositiveIntegerField(_("voided"), default=0)
    errors = models.JSONField(
        _("row errors"),
        default=list,
        blank=True,
        help_text=_(
            "[{row, field, reason}], the first few hundred; the report has all."
        ),
    )
    error_report = models.FileField(
        _("error report"), upload_to="imports/reports/%Y/%m/", blank=True
    )
    failure = models.TextField(_("failure"), blank=True)
    task_id = models.CharField(_("task id"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imported by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("import started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("voided by"),
    )
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("card code batch")
        verbose_name_plural = _("card code batches")
        ordering = ["-id"]

    def __str__(self):
        return f"#{self.pk} {self.file_name}"


class CardCode(models.Model):
    """One code (and password), encrypted at rest.

    `secret` is a Fernet token (authenticated encryption, kameng.crypto) of the code
    text; `code_hash` is a keyed HMAC of the normalised text, unique, so a duplicate
    is found without decrypting anything; `key_version` says which key encrypted it,
    so key rotation can resume where it stopped.
    """

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")
        SOLD = "sold", _("Sold")
        VOID = "void", _("Void")

    sku = models.ForeignKey(
        Sku, on_delete=models.PROTECT, related_name="card_codes", verbose_name=_("SKU")
    )
    batch = models.ForeignKey(
        CardBatch,
        on_delete=models.PROTECT,
        related_name="codes",
        verbose_name=_("batch"),
    )
    secret = models.TextField(_("encrypted code"))
    code_hash = models.CharField(_("code hash"), max_length=64)
    key_version = models.CharField(_("key"), max_length=16)
    hint = models.CharField(_("masked code"), max_length=40)
    status = models.CharField(
        _("status"), max_length=12, choices=Status, default=Status.AVAILABLE
    )
    order_ref = models.CharField(_("order"), max_length=40, blank=True)
    sold_at = models.DateTimeField(_("sold at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("card code")
        verbose_name_plural = _("card codes")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code_hash"], name="catalog_cardcode_hash_uniq"
            ),
            models.CheckConstraint(
                condition=Q(status="sold") | Q(sold_at__isnull=True),
                name="catalog_cardcode_sold_at_only_sold",
            ),
        ]
        indexes = [
            # The sale takes the oldest available codes of one SKU, SKIP LOCKED.
            models.Index(
                fields=["sku", "id"],
                condition=Q(status="available"),
                name="catalog_code_available_idx",
            ),
            models.Index(fields=["batch", "status"], name="catalog_code_batch_idx"),
            models.Index(fields=["order_ref"], name="catalog_code_order_idx"),
            models.Index(fields=["key_version", "id"], name="catalog_code_key_idx"),
        ]

    def __str__(self):
        return self.hint


class CodeReveal(models.Model):
    """Audit: a member of staff looked at a code in clear text."""

    code = models.ForeignKey(
        CardCode,
        on_delete=models.PROTECT,
        related_name="reveals",
        verbose_name=_("code"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("revealed by"),
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("revealed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("card code reveal")
        verbose_name_plural = _("card code reveals")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.actor} → {self.code}"
