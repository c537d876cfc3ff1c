# Refunds and wallet, risk: orders held for review, guest refunds through
# the gateway, the checkout blacklist.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

ORDER_STATES = [
    ("pending_payment", "Pending payment"),
    ("paid", "Paid"),
    ("delivering", "Delivering"),
    ("delivered", "Delivered"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
    ("after_sales", "After-sales"),
    ("refunded", "Refunded"),
    ("partially_refunded", "Partially refunded"),
    ("held", "Held for review"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0009_support"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="order",
            name="status",
            field=models.CharField(
                choices=ORDER_STATES,
                default="pending_payment",
                max_length=20,
                verbose_name="status",
            ),
        ),
        migrations.AlterField(
            model_name="orderevent",
            name="from_status",
            field=models.CharField(
                blank=True, choices=ORDER_STATES, max_length=20, verbose_name="from"
            ),
        ),
        migrations.AlterField(
            model_name="orderevent",
            name="to_status",
            field=models.CharField(
                choices=ORDER_STATES, max_length=20, verbose_name="to"
            ),
        ),
        migrations.AlterField(
            model_name="refundrequest",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Waiting for approval"),
                    ("refunded", "Refunded"),
                    ("rejected", "Rejected"),
                    ("at_gateway", "Being refunded at the gateway"),
                    ("by_hand", "To refund by hand at the gateway"),
                ],
                default="pending",
                max_length=10,
                verbose_name="status",
            ),
        ),
        migrations.AddField(
            model_name="refundrequest",
            name="gateway_refund_no",
            field=models.CharField(
                blank=True,
                help_text="The gateway's number for the refund, or finance's reference.",
                max_length=64,
                verbose_name="gateway refund number",
            ),
        ),
        migrations.AddIndex(
            model_name="refundrequest",
            index=models.Index(
                condition=models.Q(("status__in", ["at_gateway", "by_hand"])),
                fields=["-id"],
                name="orders_refundreq_gateway_idx",
            ),
        ),
        migrations.CreateModel(
            name="BlacklistEntry",
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
                    "kind",
                    models.CharField(
                        choices=[
                            ("account", "Account (username)"),
                            ("contact", "Contact (email or phone)"),
                            ("ip", "IP address"),
                            ("recharge_account", "Recharge account"),
                        ],
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                ("value", models.CharField(max_length=150, verbose_name="value")),
                ("reason", models.CharField(max_length=300, verbose_name="reason")),
                ("active", models.BooleanField(default=True, verbose_name="active")),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="added at"),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="added by",
                    ),
                ),
            ],
            options={
                "verbose_name": "blacklist entry",
                "verbose_name_plural": "blacklist",
                "ordering": ["-id"],
                "permissions": [
                    (
                        "review_held_order",
                        "Can release or refuse orders held for risk review",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "value"),
                        name="orders_blacklist_kind_value_uniq",
                    )
                ],
            },
        ),
    ]
