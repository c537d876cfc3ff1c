# Buyer bitmaps: a period's unique buyers, visitors and funnel steps as an OR
# of a few per-day (and per-block) bitmaps of user ids, instead of grouping the
# period's buyer days per user. Empty until `manage.py rebuild_rollups --since
# DATE` has run once after deploying. And the daily sales by SKU and hourly
# sales by category the dashboard reads instead of the hour × SKU rollups.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_buyer_activity"),
    ]

    operations = [
        migrations.CreateModel(
            name="BuyerBitmap",
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
                ("day", models.DateField(verbose_name="first day")),
                (
                    "span",
                    models.PositiveSmallIntegerField(default=1, verbose_name="days"),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("visitor", "Visited the shop"),
                            ("viewer", "Viewed a product"),
                            ("placed", "Placed an order"),
                            ("placed_paid", "Placed an order paid since"),
                            ("buyer", "Paid an order"),
                        ],
                        max_length=12,
                        verbose_name="kind",
                    ),
                ),
                (
                    "key",
                    models.CharField(
                        default="all",
                        help_text=(
                            "all, or level:<member level id> (level:0 without a level)."
                        ),
                        max_length=24,
                        verbose_name="breakdown",
                    ),
                ),
                ("bits", models.BinaryField(verbose_name="user bitmap (zlib)")),
            ],
            options={
                "verbose_name": "buyer bitmap",
                "verbose_name_plural": "buyer bitmaps",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "span", "kind", "key"),
                        name="analytics_bitmap_once",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="SalesDay",
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
                ("day", models.DateField(verbose_name="day")),
                (
                    "category_id",
                    models.PositiveBigIntegerField(
                        help_text="The top-level category.", verbose_name="category"
                    ),
                ),
                (
                    "member_level_id",
                    models.PositiveBigIntegerField(
                        blank=True, null=True, verbose_name="member level"
                    ),
                ),
                ("guest", models.BooleanField(default=False, verbose_name="guest")),
                ("orders", models.PositiveIntegerField(verbose_name="orders")),
                ("units", models.PositiveIntegerField(verbose_name="units")),
                (
                    "gmv",
                    models.DecimalField(
                        decimal_places=2, max_digits=16, verbose_name="GMV"
                    ),
                ),
                (
                    "refunds",
                    models.DecimalField(
                        decimal_places=2, max_digits=16, verbose_name="refunds"
                    ),
                ),
                (
                    "cost",
                    models.DecimalField(
                        decimal_places=2, max_digits=16, verbose_name="estimated cost"
                    ),
                ),
                (
                    "coupon_cost",
                    models.DecimalField(
                        decimal_places=2,
                        default=0,
                        max_digits=16,
                        verbose_name="coupon cost",
                    ),
                ),
                ("sku_id", models.PositiveBigIntegerField(verbose_name="SKU")),
            ],
            options={
                "verbose_name": "daily sales by SKU",
                "verbose_name_plural": "daily sales by SKU",
                "indexes": [
                    models.Index(fields=["day"], name="analytics_salesday_day_idx")
                ],
            },
        ),
        migrations.CreateModel(
            name="SalesHour",
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
                ("day", models.DateField(verbose_name="day")),
                (
                    "category_id",
                    models.PositiveBigIntegerField(
                        help_text="The top-level category.", verbose_name="category"
                    ),
                ),
                (
                    "member_level_id",
                    models.PositiveBigIntegerField(
                        blank=True, null=True, verbose_name="member level"
                    ),
                ),
                ("guest", models.BooleanField(default=False, verbose_name="guest")),
                ("orders", models.PositiveIntegerField(verbose_name="orders")),
                ("units", models.PositiveIntegerField(verbose_name="units")),
                (
                    "gmv",
                    models.DecimalField(
                        decimal_places=2, max_digits=16, verbose_name="GMV"
                    ),
                ),
                (
                    "refunds",
                    models.DecimalField(
                        decimal_places=2, max_digits=16, verbose_name="refunds"
                    ),
                ),
                (
                    "cost",
                    models.DecimalField(
                        decimal_places=2, max_digits=16, verbose_name="estimated cost"
                    ),
                ),
                (
                    "coupon_cost",
                    models.DecimalField(
                        decimal_places=2,
                        default=0,
                        max_digits=16,
                        verbose_name="coupon cost",
                    ),
                ),
                ("hour", models.PositiveSmallIntegerField(verbose_name="hour")),
            ],
            options={
                "verbose_name": "hourly sales by category",
                "verbose_name_plural": "hourly sales by category",
                "indexes": [
                    models.Index(fields=["day"], name="analytics_saleshour_day_idx")
                ],
            },
        ),
    ]
