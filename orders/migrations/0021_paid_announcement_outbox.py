from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0020_encrypted_blacklist")]

    operations = [
        migrations.CreateModel(
            name="PaidAnnouncement",
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
                ("order_id", models.BigIntegerField(verbose_name="order id")),
                (
                    "buyer_id",
                    models.BigIntegerField(
                        blank=True, null=True, verbose_name="buyer id"
                    ),
                ),
                (
                    "amount",
                    models.DecimalField(
                        decimal_places=2, max_digits=14, verbose_name="amount"
                    ),
                ),
                (
                    "payment_method",
                    models.CharField(
                        blank=True, max_length=12, verbose_name="payment method"
                    ),
                ),
                (
                    "category_id",
                    models.BigIntegerField(
                        blank=True, null=True, verbose_name="category id"
                    ),
                ),
                ("created_at", models.DateTimeField(verbose_name="created at")),
                (
                    "claimed_until",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="claimed until"
                    ),
                ),
            ],
            options={
                "verbose_name": "paid-order announcement",
                "verbose_name_plural": "paid-order announcements",
            },
        ),
    ]
