# Points mall (issue 13): an order paid with points (amount 0.00): choices only.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0014_vouchers_bonuses"),
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
                    ("points", "Points"),
                ],
                max_length=12,
                verbose_name="payment method",
            ),
        ),
    ]
