# A ledger kind for wallet top-up bonuses (充值赠送, issue 13): choices only.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0008_contacts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ledgerentry",
            name="kind",
            field=models.CharField(
                choices=[
                    ("topup", "Top-up"),
                    ("purchase", "Purchase"),
                    ("refund", "Refund"),
                    ("adjustment", "Adjustment"),
                    ("reward", "Reward"),
                    ("bonus", "Top-up bonus"),
                ],
                max_length=16,
                verbose_name="kind",
            ),
        ),
    ]
