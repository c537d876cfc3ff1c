# Vouchers (兑换券) pay orders (amount 0.00); a wallet top-up can be refunded
# (its bonus taken back): choices only.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0013_contacts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="order",
            name="payment_method",
            field=models.CharField(
                blank=True,
                choices=[
                    ("wallet", "Wallet balance"),
                    ("gateway", "Payment gateway"),
                    ("voucher", "Voucher"),
                ],
                max_length=12,
                verbose_name="payment method",
            ),
        ),
        migrations.AlterField(
            model_name="wallettopup",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending payment"),
                    ("paid", "Paid"),
                    ("cancelled", "Cancelled"),
                    ("refunded", "Refunded"),
                ],
                default="pending",
                max_length=12,
                verbose_name="status",
            ),
        ),
    ]
