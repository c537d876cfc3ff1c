# Refunds and wallet, risk: buyers flagged for frequent after-sales, and
# alerts for wallets whose balance differs from their ledger.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0006_logins"),
    ]

    operations = [
        migrations.CreateModel(
            name="RiskFlag",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="risk_flag",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
                (
                    "refunds",
                    models.PositiveIntegerField(
                        default=0, verbose_name="refunds in 30 days"
                    ),
                ),
                (
                    "reissues",
                    models.PositiveIntegerField(
                        default=0, verbose_name="reissues in 30 days"
                    ),
                ),
                (
                    "flagged_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="flagged at"
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(auto_now=True, verbose_name="counted at"),
                ),
            ],
            options={
                "verbose_name": "risk flag",
                "verbose_name_plural": "risk flags",
            },
        ),
        migrations.CreateModel(
            name="LedgerAlert",
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
                    "balance",
                    models.DecimalField(
                        decimal_places=2, max_digits=14, verbose_name="balance"
                    ),
                ),
                (
                    "ledger_sum",
                    models.DecimalField(
                        decimal_places=2,
                        max_digits=14,
                        verbose_name="sum of the ledger",
                    ),
                ),
                (
                    "found_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="found at"
                    ),
                ),
                (
                    "notified_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="finance mailed at"
                    ),
                ),
                (
                    "resolved_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="resolved at"
                    ),
                ),
                (
                    "wallet",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="users.wallet",
                        verbose_name="wallet",
                    ),
                ),
            ],
            options={
                "verbose_name": "ledger alert",
                "verbose_name_plural": "ledger alerts",
                "ordering": ["-id"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("resolved_at__isnull", True)),
                        fields=("wallet",),
                        name="users_ledgeralert_one_open",
                    )
                ],
            },
        ),
    ]
