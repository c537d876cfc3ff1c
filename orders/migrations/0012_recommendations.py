# Recommendations (issue 10): "bought together" pairs, rebuilt nightly.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_cardbatch_started_at"),
        ("orders", "0011_checkout"),
    ]

    operations = [
        migrations.CreateModel(
            name="CoPurchase",
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
                    "buyers",
                    models.PositiveIntegerField(verbose_name="buyers who bought both"),
                ),
                ("computed_at", models.DateTimeField(verbose_name="computed at")),
                (
                    "other",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="catalog.product",
                        verbose_name="bought with",
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="catalog.product",
                        verbose_name="product",
                    ),
                ),
            ],
            options={
                "verbose_name": "co-purchase",
                "verbose_name_plural": "co-purchases",
                "indexes": [
                    models.Index(
                        fields=["product", "-buyers"], name="orders_copurchase_top_idx"
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("product", "other"), name="orders_copurchase_pair_uniq"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("product", models.F("other")), _negated=True
                        ),
                        name="orders_copurchase_not_self",
                    ),
                ],
            },
        ),
    ]
