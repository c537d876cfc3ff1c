# Points (积分, issue 13): the ledger, check-ins, reviews, the mall, settings.

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("marketing", "0005_referral"),
        ("catalog", "0005_sku_sale_version"),
        ("users", "0003_member_levels"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PointsAccount",
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
                    models.IntegerField(default=0, verbose_name="points balance"),
                ),
                (
                    "updated_at",
                    models.DateTimeField(auto_now=True, verbose_name="updated at"),
                ),
                (
                    "buyer",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="points_account",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="buyer",
                    ),
                ),
            ],
            options={
                "verbose_name": "points account",
                "verbose_name_plural": "points accounts",
                "permissions": [("adjust_points", "Can adjust points balances")],
            },
        ),
        migrations.CreateModel(
            name="PointsCheckin",
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
                ("points", models.PositiveIntegerField(verbose_name="points")),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                ),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="checkins",
                        to="marketing.pointsaccount",
                        verbose_name="points account",
                    ),
                ),
            ],
            options={
                "verbose_name": "check-in",
                "verbose_name_plural": "check-ins",
            },
        ),
        migrations.CreateModel(
            name="PointsEntry",
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
                ("amount", models.IntegerField(verbose_name="points")),
                ("balance_after", models.IntegerField(verbose_name="balance after")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("earn_purchase", "Earned on a purchase"),
                            ("checkin", "Daily check-in"),
                            ("review", "Review reward"),
                            ("spend_checkout", "Used at checkout"),
                            ("spend_mall", "Redeemed in the points mall"),
                            ("return", "Returned (order cancelled or refunded)"),
                            ("expire", "Expired"),
                            ("refund_takeback", "Taken back (order refunded)"),
                            ("adjust", "Adjusted by staff"),
                        ],
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                (
                    "reference",
                    models.CharField(
                        blank=True, max_length=64, verbose_name="reference"
                    ),
                ),
                (
                    "order_id",
                    models.BigIntegerField(
                        blank=True, null=True, verbose_name="order id"
                    ),
                ),
                (
                    "note",
                    models.CharField(blank=True, max_length=255, verbose_name="note"),
                ),
                (
                    "earned_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="earned at"
                    ),
                ),
                (
                    "expires_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="expires at"
                    ),
                ),
                ("remaining", models.IntegerField(default=0, verbose_name="unspent")),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                ),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="entries",
                        to="marketing.pointsaccount",
                        verbose_name="points account",
                    ),
                ),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="by",
                    ),
                ),
            ],
            options={
                "verbose_name": "points entry",
                "verbose_name_plural": "points entries",
            },
        ),
        migrations.CreateModel(
            name="PointsExpiryNotice",
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
                ("expires_at", models.DateTimeField(verbose_name="expires at")),
                ("points", models.PositiveIntegerField(verbose_name="points")),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                ),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="expiry_notices",
                        to="marketing.pointsaccount",
                        verbose_name="points account",
                    ),
                ),
            ],
            options={
                "verbose_name": "expiry notice",
                "verbose_name_plural": "expiry notices",
            },
        ),
        migrations.CreateModel(
            name="PointsMallItem",
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
                    "points",
                    models.PositiveIntegerField(
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="points price",
                    ),
                ),
                (
                    "is_active",
                    models.BooleanField(default=True, verbose_name="on offer"),
                ),
                (
                    "sort",
                    models.PositiveSmallIntegerField(
                        default=0, verbose_name="sort order"
                    ),
                ),
                (
                    "sku",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="points_mall_item",
                        to="catalog.sku",
                        verbose_name="SKU",
                    ),
                ),
            ],
            options={
                "verbose_name": "points mall item",
                "verbose_name_plural": "points mall items",
                "ordering": ["sort", "id"],
            },
        ),
        migrations.CreateModel(
            name="PointsReview",
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
                    "order_id",
                    models.BigIntegerField(unique=True, verbose_name="order id"),
                ),
                (
                    "order_no",
                    models.CharField(max_length=24, verbose_name="order number"),
                ),
                (
                    "stars",
                    models.PositiveSmallIntegerField(
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(5),
                        ],
                        verbose_name="stars",
                    ),
                ),
                ("text", models.TextField(max_length=1000, verbose_name="review")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting for moderation"),
                            ("approved", "Approved"),
                            ("rejected", "Rejected"),
                        ],
                        default="pending",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "moderated_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="moderated at"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                ),
                (
                    "buyer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="points_reviews",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="buyer",
                    ),
                ),
                (
                    "moderated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="moderated by",
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="points_reviews",
                        to="catalog.product",
                        verbose_name="product",
                    ),
                ),
            ],
            options={
                "verbose_name": "order review",
                "verbose_name_plural": "order reviews",
            },
        ),
        migrations.CreateModel(
            name="PointsSettings",
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
                    "earn_per_yuan",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("1.00"),
                        help_text="For buyers whose level has no rate of its own.",
                        max_digits=6,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0"))
                        ],
                        verbose_name="points per yuan spent",
                    ),
                ),
                (
                    "points_per_yuan_off",
                    models.PositiveIntegerField(
                        default=100,
                        help_text="Exchange rate at checkout: this many points take ¥1 off.",
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="points for ¥1 off",
                    ),
                ),
                (
                    "max_share_percent",
                    models.PositiveSmallIntegerField(
                        default=50,
                        validators=[
                            django.core.validators.MinValueValidator(0),
                            django.core.validators.MaxValueValidator(100),
                        ],
                        verbose_name="max share of the order (%)",
                    ),
                ),
                (
                    "checkin_points",
                    models.PositiveIntegerField(
                        default=5, verbose_name="points per check-in"
                    ),
                ),
                (
                    "review_points",
                    models.PositiveIntegerField(
                        default=20, verbose_name="points per approved review"
                    ),
                ),
                (
                    "expiry_years",
                    models.PositiveSmallIntegerField(
                        default=1,
                        help_text="1: points earned in a year expire at the end of the next year. 0: they never expire.",
                        validators=[django.core.validators.MaxValueValidator(10)],
                        verbose_name="expiry (years after the year earned)",
                    ),
                ),
                (
                    "notice_days",
                    models.PositiveSmallIntegerField(
                        default=30,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(365),
                        ],
                        verbose_name="notice days before expiry",
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(auto_now=True, verbose_name="updated at"),
                ),
            ],
            options={
                "verbose_name": "points settings",
                "verbose_name_plural": "points settings",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("points_per_yuan_off__gte", 1)),
                        name="marketing_points_rate_gte_1",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("max_share_percent__lte", 100)),
                        name="marketing_points_share_lte_100",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="PointsLevelRate",
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
                    "earn_per_yuan",
                    models.DecimalField(
                        decimal_places=2,
                        max_digits=6,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0"))
                        ],
                        verbose_name="points per yuan spent",
                    ),
                ),
                (
                    "level",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="points_rate",
                        to="users.memberlevel",
                        verbose_name="member level",
                    ),
                ),
                (
                    "settings",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="level_rates",
                        to="marketing.pointssettings",
                        verbose_name="points settings",
                    ),
                ),
            ],
            options={
                "verbose_name": "level earn rate",
                "verbose_name_plural": "level earn rates",
            },
        ),
        migrations.AddConstraint(
            model_name="pointsaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(("balance__gte", 0)),
                name="marketing_points_balance_gte_0",
            ),
        ),
        migrations.AddConstraint(
            model_name="pointscheckin",
            constraint=models.UniqueConstraint(
                fields=("account", "day"), name="marketing_checkin_once_a_day"
            ),
        ),
        migrations.AddIndex(
            model_name="pointsentry",
            index=models.Index(
                fields=["account", "-id"], name="marketing_points_acct_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="pointsentry",
            index=models.Index(
                condition=models.Q(("order_id__isnull", False)),
                fields=["order_id"],
                name="marketing_points_order_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="pointsentry",
            index=models.Index(
                condition=models.Q(("remaining__gt", 0)),
                fields=["expires_at"],
                name="marketing_points_unspent_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="pointsentry",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount", 0), _negated=True),
                name="marketing_points_amount_not_0",
            ),
        ),
        migrations.AddConstraint(
            model_name="pointsentry",
            constraint=models.CheckConstraint(
                condition=models.Q(("balance_after__gte", 0)),
                name="marketing_points_after_gte_0",
            ),
        ),
        migrations.AddConstraint(
            model_name="pointsentry",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("remaining__gte", 0),
                    models.Q(
                        models.Q(
                            ("amount__gt", 0), ("remaining__lte", models.F("amount"))
                        ),
                        ("remaining", 0),
                        _connector="OR",
                    ),
                ),
                name="marketing_points_remaining_in_bucket",
            ),
        ),
        migrations.AddConstraint(
            model_name="pointsentry",
            constraint=models.UniqueConstraint(
                condition=models.Q(("reference", ""), _negated=True),
                fields=("account", "kind", "reference"),
                name="marketing_points_once_per_reference",
            ),
        ),
        migrations.AddConstraint(
            model_name="pointsexpirynotice",
            constraint=models.UniqueConstraint(
                fields=("account", "expires_at"), name="marketing_notice_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="pointsmallitem",
            constraint=models.CheckConstraint(
                condition=models.Q(("points__gte", 1)),
                name="marketing_mall_points_gte_1",
            ),
        ),
        migrations.AddIndex(
            model_name="pointsreview",
            index=models.Index(
                condition=models.Q(("status", "approved")),
                fields=["product", "-id"],
                name="marketing_review_shown_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="pointsreview",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["id"],
                name="marketing_review_queue_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="pointsreview",
            constraint=models.CheckConstraint(
                condition=models.Q(("stars__gte", 1), ("stars__lte", 5)),
                name="marketing_review_stars_1_5",
            ),
        ),
        migrations.AddConstraint(
            model_name="pointslevelrate",
            constraint=models.CheckConstraint(
                condition=models.Q(("earn_per_yuan__gte", 0)),
                name="marketing_points_level_rate_gte_0",
            ),
        ),
    ]
