# Flash sales (issue 13): the sale, the per-buyer counter and each order's claim.

import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("marketing", "0007_group_buy"),
        ("catalog", "0005_sku_sale_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="FlashSale",
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
                    "title",
                    models.CharField(
                        blank=True,
                        help_text="Shown on the shop above the countdown (optional).",
                        max_length=60,
                        verbose_name="title",
                    ),
                ),
                ("starts_at", models.DateTimeField(verbose_name="starts at")),
                ("ends_at", models.DateTimeField(verbose_name="ends at")),
                (
                    "price",
                    models.DecimalField(
                        decimal_places=2,
                        help_text="Must be below the SKU's price.",
                        max_digits=14,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0.01"))
                        ],
                        verbose_name="flash price",
                    ),
                ),
                (
                    "quantity_cap",
                    models.PositiveIntegerField(
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="units on sale",
                    ),
                ),
                (
                    "per_buyer_cap",
                    models.PositiveIntegerField(
                        default=1,
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="limit per buyer",
                    ),
                ),
                (
                    "sold",
                    models.PositiveIntegerField(
                        default=0, editable=False, verbose_name="units sold"
                    ),
                ),
                (
                    "gmv",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0.00"),
                        editable=False,
                        max_digits=14,
                        verbose_name="GMV",
                    ),
                ),
                (
                    "cost",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0.00"),
                        editable=False,
                        max_digits=14,
                        verbose_name="cost",
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
                    "sku",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="flash_sales",
                        to="catalog.sku",
                        verbose_name="SKU",
                    ),
                ),
            ],
            options={
                "verbose_name": "flash sale",
                "verbose_name_plural": "flash sales",
                "ordering": ("-starts_at",),
            },
        ),
        migrations.CreateModel(
            name="FlashSaleBuyer",
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
                    "bought",
                    models.PositiveIntegerField(default=0, verbose_name="units bought"),
                ),
                (
                    "buyer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "sale",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="buyer_counts",
                        to="marketing.flashsale",
                    ),
                ),
            ],
            options={
                "verbose_name": "flash sale buyer",
                "verbose_name_plural": "flash sale buyers",
            },
        ),
        migrations.CreateModel(
            name="FlashSaleClaim",
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
                    models.CharField(max_length=32, verbose_name="order number"),
                ),
                ("quantity", models.PositiveIntegerField(verbose_name="quantity")),
                (
                    "amount",
                    models.DecimalField(
                        decimal_places=2, max_digits=14, verbose_name="amount"
                    ),
                ),
                (
                    "cost",
                    models.DecimalField(
                        decimal_places=2, max_digits=14, verbose_name="cost"
                    ),
                ),
                ("claimed_at", models.DateTimeField(verbose_name="claimed at")),
                (
                    "released_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="released at"
                    ),
                ),
                (
                    "release_reason",
                    models.CharField(
                        blank=True, max_length=24, verbose_name="release reason"
                    ),
                ),
                (
                    "buyer",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "sale",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="claims",
                        to="marketing.flashsale",
                    ),
                ),
            ],
            options={
                "verbose_name": "flash sale order",
                "verbose_name_plural": "flash sale orders",
            },
        ),
        migrations.AddIndex(
            model_name="flashsale",
            index=models.Index(fields=["sku", "ends_at"], name="mkt_flash_sku_end"),
        ),
        migrations.AddConstraint(
            model_name="flashsale",
            constraint=models.CheckConstraint(
                condition=models.Q(("ends_at__gt", models.F("starts_at"))),
                name="mkt_flash_window",
            ),
        ),
        migrations.AddConstraint(
            model_name="flashsale",
            constraint=models.CheckConstraint(
                condition=models.Q(("price__gt", 0)), name="mkt_flash_price"
            ),
        ),
        migrations.AddConstraint(
            model_name="flashsale",
            constraint=models.CheckConstraint(
                condition=models.Q(("per_buyer_cap__gte", 1), ("quantity_cap__gte", 1)),
                name="mkt_flash_caps",
            ),
        ),
        migrations.AddConstraint(
            model_name="flashsale",
            constraint=models.CheckConstraint(
                condition=models.Q(("sold__lte", models.F("quantity_cap"))),
                name="mkt_flash_sold_cap",
            ),
        ),
        migrations.AddConstraint(
            model_name="flashsalebuyer",
            constraint=models.UniqueConstraint(
                fields=("sale", "buyer"), name="mkt_flash_buyer_uniq"
            ),
        ),
        migrations.AddConstraint(
            model_name="flashsaleclaim",
            constraint=models.UniqueConstraint(
                fields=("sale", "order_id"), name="mkt_flash_claim_uniq"
            ),
        ),
    ]
