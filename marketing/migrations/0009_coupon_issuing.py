# Coupon issuing at scale (issue 13): bulk issue jobs to a segment, redeem-code
# batches and their codes, the automatic coupon campaigns' settings. The
# campaigns' rows are made after migrate (marketing.campaigns.ensure_campaigns).

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("marketing", "0008_flash_sales"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RedeemCodeBatch",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("name", models.CharField(max_length=60, verbose_name="name")),
                (
                    "prefix",
                    models.CharField(
                        blank=True,
                        help_text="Optional: up to 6 capital letters or digits before each code.",
                        max_length=6,
                        verbose_name="prefix",
                    ),
                ),
                (
                    "count",
                    models.PositiveIntegerField(
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(50000),
                        ],
                        verbose_name="number of codes",
                    ),
                ),
                (
                    "expires_at",
                    models.DateTimeField(
                        help_text="After this moment a code is refused as expired.",
                        verbose_name="codes redeemable until",
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
                (
                    "template",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="marketing.coupontemplate",
                        verbose_name="coupon template",
                    ),
                ),
            ],
            options={
                "verbose_name": "redeem code batch",
                "verbose_name_plural": "redeem code batches",
                "ordering": ["-id"],
                "permissions": [("export_redeem_codes", "Can export redeem codes")],
            },
        ),
        migrations.CreateModel(
            name="RedeemCode",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "code",
                    models.CharField(max_length=24, unique=True, verbose_name="code"),
                ),
                (
                    "redeemed_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="redeemed at"
                    ),
                ),
                (
                    "coupon",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="marketing.coupon",
                        verbose_name="coupon",
                    ),
                ),
                (
                    "redeemed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="redeemed by",
                    ),
                ),
                (
                    "batch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="codes",
                        to="marketing.redeemcodebatch",
                        verbose_name="batch",
                    ),
                ),
            ],
            options={
                "verbose_name": "redeem code",
                "verbose_name_plural": "redeem codes",
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="CouponCampaign",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("signup", "Signup gift"),
                            ("first_order", "First-order reward"),
                            ("birthday", "Birthday gift"),
                            ("monthly", "Monthly coupon"),
                            ("winback", "Win-back"),
                        ],
                        max_length=12,
                        unique=True,
                        verbose_name="campaign",
                    ),
                ),
                ("enabled", models.BooleanField(default=False, verbose_name="on")),
                (
                    "dormant_days",
                    models.PositiveSmallIntegerField(
                        default=30,
                        help_text="Win-back: buyers whose last paid order is this many days old.",
                        validators=[
                            django.core.validators.MinValueValidator(7),
                            django.core.validators.MaxValueValidator(365),
                        ],
                        verbose_name="dormant for (days)",
                    ),
                ),
                (
                    "changed_at",
                    models.DateTimeField(auto_now=True, verbose_name="changed at"),
                ),
                (
                    "changed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="changed by",
                    ),
                ),
                (
                    "template",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="marketing.coupontemplate",
                        verbose_name="coupon template",
                    ),
                ),
            ],
            options={
                "verbose_name": "automatic coupon campaign",
                "verbose_name_plural": "automatic coupon campaigns",
                "ordering": ["id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("enabled", False),
                            ("template__isnull", False),
                            _connector="OR",
                        ),
                        name="marketing_campaign_on_has_template",
                        violation_error_message="Choose the coupon template before switching a campaign on.",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="CouponIssueJob",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "issue_key",
                    models.CharField(max_length=60, verbose_name="issue key"),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Issuing"),
                            ("done", "Done"),
                            ("failed", "Failed"),
                        ],
                        default="queued",
                        max_length=8,
                        verbose_name="status",
                    ),
                ),
                (
                    "total",
                    models.PositiveIntegerField(
                        null=True, verbose_name="buyers in the segment"
                    ),
                ),
                (
                    "processed",
                    models.PositiveIntegerField(
                        default=0, verbose_name="buyers processed"
                    ),
                ),
                (
                    "issued",
                    models.PositiveIntegerField(
                        default=0, verbose_name="coupons issued"
                    ),
                ),
                (
                    "failure",
                    models.CharField(
                        blank=True, max_length=300, verbose_name="failure"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        auto_now_add=True, verbose_name="requested at"
                    ),
                ),
                (
                    "started_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="started at"
                    ),
                ),
                (
                    "touched_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="last progress"
                    ),
                ),
                (
                    "finished_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="finished at"
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="requested by",
                    ),
                ),
                (
                    "segment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="marketing.segment",
                        verbose_name="segment",
                    ),
                ),
                (
                    "template",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="marketing.coupontemplate",
                        verbose_name="coupon template",
                    ),
                ),
            ],
            options={
                "verbose_name": "coupon issue job",
                "verbose_name_plural": "coupon issue jobs",
                "ordering": ["-id"],
                "indexes": [
                    models.Index(
                        fields=["status", "touched_at"], name="marketing_job_status_idx"
                    )
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("issued__lte", models.F("processed"))),
                        name="marketing_issuejob_issued_lte_processed",
                    )
                ],
            },
        ),
    ]
