# Buyer bitmaps: a period's unique buyers, visitors and funnel steps as an OR
# of a few per-day (and per-block) bitmaps of user ids, instead of grouping the
# period's buyer days per user. Empty until `manage.py rebuild_rollups --since
# DATE` has run once after deploying.

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
    ]
