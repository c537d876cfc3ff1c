# Group buy (拼团, issue 13): campaigns, groups and their members.

import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("marketing", "0006_points"),
        ("catalog", "0005_sku_sale_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="GroupBuyCampaign",
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
                (
                    "group_size",
                    models.PositiveSmallIntegerField(
                        help_text="How many buyers fill a group (at least 2).",
                        validators=[
                            django.core.validators.MinValueValidator(2),
                            django.core.validators.MaxValueValidator(50),
                        ],
                        verbose_name="group size",
                    ),
                ),
                (
                    "group_price",
                    models.DecimalField(
                        decimal_places=2,
                        help_text="What each member pays; below the SKU's price.",
                        max_digits=12,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0.01"))
                        ],
                        verbose_name="group price",
                    ),
                ),
                (
                    "hours",
                    models.PositiveSmallIntegerField(
                        default=24,
                        help_text="A group not full this many hours after it was opened fails and every member is refunded automatically.",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(168),
                        ],
                        verbose_name="hours to fill a group",
                    ),
                ),
                ("starts_at", models.DateTimeField(verbose_name="starts at")),
                (
                    "ends_at",
                    models.DateTimeField(
                        help_text="No group can be opened after this time.",
                        verbose_name="ends at",
                    ),
                ),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                ),
                (
                    "sku",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="group_buy_campaigns",
                        to="catalog.sku",
                        verbose_name="SKU",
                    ),
                ),
            ],
            options={
                "verbose_name": "group buy campaign",
                "verbose_name_plural": "group buy campaigns",
                "ordering": ("-starts_at", "-id"),
            },
        ),
        migrations.CreateModel(
            name="BuyerGroup",
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
                    "token",
                    models.CharField(
                        max_length=32, unique=True, verbose_name="share token"
                    ),
                ),
                ("size", models.PositiveSmallIntegerField(verbose_name="group size")),
                (
                    "seats_taken",
                    models.PositiveSmallIntegerField(default=0, verbose_name="members"),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("open", "Open, waiting for members"),
                            ("filled", "Filled"),
                            ("failed", "Failed, members refunded"),
                        ],
                        default="open",
                        max_length=8,
                        verbose_name="state",
                    ),
                ),
                ("opened_at", models.DateTimeField(verbose_name="opened at")),
                ("deadline", models.DateTimeField(verbose_name="deadline")),
                (
                    "closed_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="filled or failed at"
                    ),
                ),
                (
                    "leader",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="opened by",
                    ),
                ),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="groups",
                        to="marketing.groupbuycampaign",
                        verbose_name="campaign",
                    ),
                ),
            ],
            options={
                "verbose_name": "buyer group",
                "verbose_name_plural": "buyer groups",
                "ordering": ("-id",),
            },
        ),
        migrations.CreateModel(
            name="GroupMember",
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
                    models.BigIntegerField(db_index=True, verbose_name="order id"),
                ),
                (
                    "order_no",
                    models.CharField(max_length=24, verbose_name="order number"),
                ),
                ("joined_at", models.DateTimeField(verbose_name="joined at")),
                (
                    "paid_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="paid at"),
                ),
                (
                    "left_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="left at"),
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
                    "group",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="members",
                        to="marketing.buyergroup",
                        verbose_name="group",
                    ),
                ),
            ],
            options={
                "verbose_name": "group member",
                "verbose_name_plural": "group members",
                "ordering": ("group", "id"),
            },
        ),
        migrations.AddIndex(
            model_name="groupbuycampaign",
            index=models.Index(
                fields=["sku", "ends_at"], name="mkt_groupcamp_sku_ends"
            ),
        ),
        migrations.AddConstraint(
            model_name="groupbuycampaign",
            constraint=models.CheckConstraint(
                condition=models.Q(("group_size__gte", 2)),
                name="mkt_groupcamp_size_gte_2",
            ),
        ),
        migrations.AddConstraint(
            model_name="groupbuycampaign",
            constraint=models.CheckConstraint(
                condition=models.Q(("group_price__gt", 0)),
                name="mkt_groupcamp_price_gt_0",
            ),
        ),
        migrations.AddConstraint(
            model_name="groupbuycampaign",
            constraint=models.CheckConstraint(
                condition=models.Q(("ends_at__gt", models.F("starts_at"))),
                name="mkt_groupcamp_ends_after_start",
            ),
        ),
        migrations.AddIndex(
            model_name="buyergroup",
            index=models.Index(
                condition=models.Q(("state", "open")),
                fields=["deadline"],
                name="mkt_group_open_deadline",
            ),
        ),
        migrations.AddIndex(
            model_name="buyergroup",
            index=models.Index(
                fields=["campaign", "state"], name="mkt_group_camp_state"
            ),
        ),
        migrations.AddConstraint(
            model_name="buyergroup",
            constraint=models.CheckConstraint(
                condition=models.Q(("seats_taken__lte", models.F("size"))),
                name="mkt_group_seats_lte_size",
            ),
        ),
        migrations.AddConstraint(
            model_name="groupmember",
            constraint=models.UniqueConstraint(
                condition=models.Q(("left_at__isnull", True)),
                fields=("group", "buyer"),
                name="mkt_groupmember_once_per_group",
            ),
        ),
        migrations.CreateModel(
            name="FailedGroup",
            fields=[],
            options={
                "verbose_name": "failed group",
                "verbose_name_plural": "failed groups",
                "ordering": ("-closed_at", "-id"),
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("marketing.buyergroup",),
        ),
    ]
