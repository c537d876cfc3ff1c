import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0003_dashboard"),
        ("catalog", "0005_sku_sale_version"),
    ]

    operations = [
        migrations.CreateModel(
            name="DemandForecast",
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
                ("computed_at", models.DateTimeField(verbose_name="computed at")),
                ("first_day", models.DateField(verbose_name="first forecast day")),
                (
                    "history_days",
                    models.PositiveSmallIntegerField(verbose_name="days of history"),
                ),
                (
                    "method",
                    models.CharField(
                        choices=[
                            ("holt_winters", "Holt-Winters (weekly season)"),
                            ("seasonal_naive", "Seasonal naive (same weekday)"),
                            ("no_sales", "No sales in the history"),
                        ],
                        max_length=20,
                        verbose_name="method",
                    ),
                ),
                ("daily", models.JSONField(default=list, verbose_name="units per day")),
                (
                    "next_7_days",
                    models.DecimalField(
                        decimal_places=1,
                        max_digits=12,
                        verbose_name="units, next 7 days",
                    ),
                ),
                (
                    "next_30_days",
                    models.DecimalField(
                        decimal_places=1,
                        max_digits=12,
                        verbose_name="units, next 30 days",
                    ),
                ),
                (
                    "wape",
                    models.DecimalField(
                        blank=True,
                        decimal_places=1,
                        max_digits=7,
                        null=True,
                        verbose_name="back-tested error (WAPE %)",
                    ),
                ),
                (
                    "naive_wape",
                    models.DecimalField(
                        blank=True,
                        decimal_places=1,
                        max_digits=7,
                        null=True,
                        verbose_name="seasonal naive error (WAPE %)",
                    ),
                ),
                (
                    "safety_stock",
                    models.PositiveIntegerField(default=0, verbose_name="safety stock"),
                ),
                (
                    "available",
                    models.PositiveIntegerField(
                        blank=True, null=True, verbose_name="codes available"
                    ),
                ),
                (
                    "restock",
                    models.PositiveIntegerField(
                        blank=True,
                        help_text="Card SKUs only: covers the forecast plus the safety stock.",
                        null=True,
                        verbose_name="codes to import",
                    ),
                ),
                (
                    "sku",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="demand_forecast",
                        to="catalog.sku",
                        verbose_name="SKU",
                    ),
                ),
            ],
            options={
                "verbose_name": "demand forecast",
                "verbose_name_plural": "demand forecasts",
            },
        ),
    ]
