# Buyer days (unique buyers, funnel, cohorts from a rollup) and the coupon cost
# of the sales rollups. Existing rollups read 0 coupon cost and no buyer days
# until `manage.py rebuild_rollups --since DATE` has run once.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_reports"),
    ]

    operations = [
        migrations.AddField(
            model_name="salesrollup",
            name="coupon_cost",
            field=models.DecimalField(
                decimal_places=2,
                default=0,
                help_text="What coupons took off these orders (already out of GMV).",
                max_digits=16,
                verbose_name="coupon cost",
            ),
        ),
        migrations.CreateModel(
            name="BuyerDay",
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
                ("user_id", models.PositiveBigIntegerField(verbose_name="user")),
                (
                    "member_level_id",
                    models.PositiveBigIntegerField(
                        blank=True,
                        help_text=(
                            "The buyer's level when the day was counted (buyers only)."
                        ),
                        null=True,
                        verbose_name="member level",
                    ),
                ),
                (
                    "visits",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Shop logins, searches and product views.",
                        verbose_name="visits",
                    ),
                ),
                (
                    "views",
                    models.PositiveIntegerField(
                        default=0, verbose_name="product views"
                    ),
                ),
                (
                    "placed",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Orders created this day.",
                        verbose_name="orders placed",
                    ),
                ),
                (
                    "placed_paid",
                    models.PositiveIntegerField(
                        default=0,
                        help_text=(
                            "Orders created this day that were paid (on any day)."
                        ),
                        verbose_name="placed and paid",
                    ),
                ),
                (
                    "orders",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Orders paid this day.",
                        verbose_name="orders paid",
                    ),
                ),
                (
                    "gmv",
                    models.DecimalField(
                        decimal_places=2, default=0, max_digits=16, verbose_name="GMV"
                    ),
                ),
                (
                    "refunds",
                    models.DecimalField(
                        decimal_places=2,
                        default=0,
                        max_digits=16,
                        verbose_name="refunds",
                    ),
                ),
                (
                    "first_paid_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="first payment"
                    ),
                ),
                (
                    "second_paid_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="The next later payment of the same day, if any.",
                        null=True,
                        verbose_name="second payment",
                    ),
                ),
            ],
            options={
                "verbose_name": "buyer day",
                "verbose_name_plural": "buyer days",
                "indexes": [
                    models.Index(
                        fields=["user_id", "day"], name="analytics_buyerday_user_idx"
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "user_id"), name="analytics_buyerday_once"
                    )
                ],
            },
        ),
    ]
