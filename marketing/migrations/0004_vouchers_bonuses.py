# Vouchers (兑换券) and wallet top-up bonuses (充值赠送), issue 13.

from decimal import Decimal

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("marketing", "0003_coupons"),
        ("catalog", "0005_sku_sale_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="BonusRule",
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
                ("name", models.CharField(max_length=80, verbose_name="name")),
                ("starts_at", models.DateTimeField(verbose_name="starts at")),
                ("ends_at", models.DateTimeField(verbose_name="ends at")),
                (
                    "per_buyer_limit",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="0: no limit.",
                        verbose_name="times per buyer",
                    ),
                ),
                ("active", models.BooleanField(default=True, verbose_name="active")),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                ),
            ],
            options={
                "verbose_name": "top-up bonus rule",
                "verbose_name_plural": "top-up bonus rules",
                "ordering": ["-id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("ends_at__gt", models.F("starts_at"))),
                        name="marketing_bonusrule_window",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="VoucherBatch",
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
                ("count", models.PositiveIntegerField(verbose_name="number of codes")),
                ("valid_from", models.DateField(verbose_name="valid from")),
                ("valid_until", models.DateField(verbose_name="valid until")),
                (
                    "note",
                    models.CharField(blank=True, max_length=200, verbose_name="note"),
                ),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                ),
                (
                    "exports",
                    models.PositiveIntegerField(
                        default=0, verbose_name="times exported"
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
                (
                    "sku",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="voucher_batches",
                        to="catalog.sku",
                        verbose_name="SKU",
                    ),
                ),
            ],
            options={
                "verbose_name": "voucher batch",
                "verbose_name_plural": "voucher batches",
                "ordering": ["-id"],
                "permissions": [("export_voucherbatch", "Can export voucher codes")],
            },
        ),
        migrations.CreateModel(
            name="Voucher",
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
                    "code_hash",
                    models.CharField(
                        max_length=64, unique=True, verbose_name="code fingerprint"
                    ),
                ),
                ("code_encrypted", models.TextField(verbose_name="encrypted code")),
                (
                    "tail",
                    models.CharField(max_length=4, verbose_name="last characters"),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("unused", "Unused"), ("used", "Used")],
                        default="unused",
                        max_length=8,
                        verbose_name="status",
                    ),
                ),
                (
                    "used_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="used at"),
                ),
                (
                    "order_id",
                    models.BigIntegerField(
                        blank=True, null=True, verbose_name="order id"
                    ),
                ),
                (
                    "order_no",
                    models.CharField(
                        blank=True, max_length=32, verbose_name="order number"
                    ),
                ),
                (
                    "used_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="used by",
                    ),
                ),
                (
                    "batch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="vouchers",
                        to="marketing.voucherbatch",
                        verbose_name="batch",
                    ),
                ),
            ],
            options={
                "verbose_name": "voucher",
                "verbose_name_plural": "vouchers",
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="BonusGrant",
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
                    "topup_no",
                    models.CharField(
                        max_length=24, unique=True, verbose_name="top-up number"
                    ),
                ),
                (
                    "topup_amount",
                    models.DecimalField(
                        decimal_places=2, max_digits=14, verbose_name="top-up amount"
                    ),
                ),
                (
                    "bonus",
                    models.DecimalField(
                        decimal_places=2, max_digits=14, verbose_name="bonus"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="credited at"),
                ),
                (
                    "reversed_amount",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0.00"),
                        max_digits=14,
                        verbose_name="taken back",
                    ),
                ),
                (
                    "shortfall",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0.00"),
                        max_digits=14,
                        verbose_name="not recovered",
                    ),
                ),
                (
                    "reversed_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="taken back at"
                    ),
                ),
                (
                    "buyer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="buyer",
                    ),
                ),
                (
                    "rule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="grants",
                        to="marketing.bonusrule",
                        verbose_name="rule",
                    ),
                ),
            ],
            options={
                "verbose_name": "top-up bonus",
                "verbose_name_plural": "top-up bonuses",
                "ordering": ["-id"],
                "indexes": [
                    models.Index(
                        fields=["buyer", "rule"], name="marketing_bonusgrant_buyer_idx"
                    ),
                    models.Index(
                        condition=models.Q(("shortfall__gt", 0)),
                        fields=["-id"],
                        name="marketing_bonusgrant_short_idx",
                    ),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("bonus__gt", 0),
                            ("reversed_amount__gte", 0),
                            ("shortfall__gte", 0),
                            (
                                "reversed_amount__lte",
                                django.db.models.expressions.CombinedExpression(
                                    models.F("bonus"), "-", models.F("shortfall")
                                ),
                            ),
                        ),
                        name="marketing_bonusgrant_amounts",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="BonusTier",
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
                    "threshold",
                    models.DecimalField(
                        decimal_places=2, max_digits=12, verbose_name="top up at least"
                    ),
                ),
                (
                    "bonus",
                    models.DecimalField(
                        decimal_places=2, max_digits=12, verbose_name="bonus"
                    ),
                ),
                (
                    "rule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tiers",
                        to="marketing.bonusrule",
                        verbose_name="rule",
                    ),
                ),
            ],
            options={
                "verbose_name": "bonus tier",
                "verbose_name_plural": "bonus tiers",
                "ordering": ["threshold"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("rule", "threshold"), name="marketing_bonustier_uniq"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("threshold__gt", 0), ("bonus__gt", 0)),
                        name="marketing_bonustier_positive",
                    ),
                ],
            },
        ),
        migrations.AddConstraint(
            model_name="voucherbatch",
            constraint=models.CheckConstraint(
                condition=models.Q(("valid_until__gte", models.F("valid_from"))),
                name="marketing_voucherbatch_dates",
            ),
        ),
        migrations.AddConstraint(
            model_name="voucherbatch",
            constraint=models.CheckConstraint(
                condition=models.Q(("count__gte", 1)),
                name="marketing_voucherbatch_count_gte_1",
            ),
        ),
        migrations.AddIndex(
            model_name="voucher",
            index=models.Index(
                fields=["batch", "status"], name="marketing_voucher_batch_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="voucher",
            index=models.Index(
                condition=models.Q(("order_id__isnull", False)),
                fields=["order_id"],
                name="marketing_voucher_order_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="voucher",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("order_id__isnull", True), ("status", "unused")),
                    models.Q(("order_id__isnull", False), ("status", "used")),
                    _connector="OR",
                ),
                name="marketing_voucher_used_has_order",
            ),
        ),
    ]
