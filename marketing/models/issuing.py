"""Coupon issuing at scale (issue 13): bulk issue jobs to a segment, batches
of redeem codes, and the automatic campaigns' settings. The coupons
themselves are marketing.models.coupons' (one per buyer per issue key)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CouponIssueJob(models.Model):
    """Coupons of one template to every member of a segment, written by a
    Celery job in chunks (processed/total is the progress bar). The issue key
    makes a second run, or a second job with the same key, give no buyer a
    second coupon."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Issuing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    template = models.ForeignKey(
        "marketing.CouponTemplate",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("coupon template"),
    )
    segment = models.ForeignKey(
        "marketing.Segment",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("segment"),
    )
    issue_key = models.CharField(_("issue key"), max_length=60)
    status = models.CharField(
        _("status"), max_length=8, choices=Status, default=Status.QUEUED
    )
    total = models.PositiveIntegerField(_("buyers in the segment"), null=True)
    processed = models.PositiveIntegerField(_("buyers processed"), default=0)
    issued = models.PositiveIntegerField(_("coupons issued"), default=0)
    failure = models.CharField(_("failure"), max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    # Moved by every chunk: the sweeper re-queues a running job that stopped.
    touched_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("coupon issue job")
        verbose_name_plural = _("coupon issue jobs")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(issued__lte=models.F("processed")),
                name="marketing_issuejob_issued_lte_processed",
            )
        ]
        indexes = [
            models.Index(
                fields=["status", "touched_at"], name="marketing_job_status_idx"
            )
        ]

    def __str__(self):
        return f"#{self.pk} {self.issue_key}"


class RedeemCodeBatch(models.Model):
    """A batch of single-use codes, each worth one coupon of the template."""

    template = models.ForeignKey(
        "marketing.CouponTemplate",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("coupon template"),
    )
    name = models.CharField(_("name"), max_length=60)
    prefix = models.CharField(
        _("prefix"),
        max_length=6,
        blank=True,
        help_text=_("Optional: up to 6 capital letters or digits before each code."),
    )
    count = models.PositiveIntegerField(
        _("number of codes"),
        validators=[MinValueValidator(1), MaxValueValidator(50_000)],
    )
    expires_at = models.DateTimeField(
        _("codes redeemable until"),
        help_text=_("After this moment a code is refused as expired."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("redeem code batch")
        verbose_name_plural = _("redeem code batches")
        ordering = ["-id"]
        permissions = [("export_redeem_codes", _("Can export redeem codes"))]

    def __str__(self):
        return self.name


class RedeemCode(models.Model):
    """One code; redeemed once (the row is locked while the coupon is issued)."""

    batch = models.ForeignKey(
        RedeemCodeBatch,
        on_delete=models.CASCADE,
        related_name="codes",
        verbose_name=_("batch"),
    )
    code = models.CharField(_("code"), max_length=24, unique=True)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("redeemed by"),
    )
    redeemed_at = models.DateTimeField(_("redeemed at"), null=True, blank=True)
    coupon = models.OneToOneField(
        "marketing.Coupon",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("coupon"),
    )

    class Meta:
        verbose_name = _("redeem code")
        verbose_name_plural = _("redeem codes")
        ordering = ["id"]

    def __str__(self):
        return self.code


class CouponCampaign(models.Model):
    """An automatic campaign's switch and template (one row per kind; the rows
    exist from the start, switched off)."""

    class Kind(models.TextChoices):
        SIGNUP = "signup", _("Signup gift")
        FIRST_ORDER = "first_order", _("First-order reward")
        BIRTHDAY = "birthday", _("Birthday gift")
        MONTHLY = "monthly", _("Monthly coupon")
        WINBACK = "winback", _("Win-back")

    kind = models.CharField(_("campaign"), max_length=12, choices=Kind, unique=True)
    enabled = models.BooleanField(_("on"), default=False)
    template = models.ForeignKey(
        "marketing.CouponTemplate",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("coupon template"),
    )
    dormant_days = models.PositiveSmallIntegerField(
        _("dormant for (days)"),
        default=30,
        validators=[MinValueValidator(7), MaxValueValidator(365)],
        help_text=_("Win-back: buyers whose last paid order is this many days old."),
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )

    class Meta:
        verbose_name = _("automatic coupon campaign")
        verbose_name_plural = _("automatic coupon campaigns")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(enabled=False) | Q(template__isnull=False),
                name="marketing_campaign_on_has_template",
                violation_error_message=_(
                    "Choose the coupon template before switching a campaign on."
                ),
            )
        ]

    def __str__(self):
        return self.get_kind_display()
