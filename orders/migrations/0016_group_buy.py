# Group buy (拼团, issue 13): a paid group order waits in "waiting_group" until
# its group fills (orders.group_buy). Only the status choices change.

from django.db import migrations, models

STATUS_CHOICES = [
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
    ("waiting_group", "Waiting for the group to fill"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0015_points"),
    ]

    operations = [
        migrations.AlterField(
            model_name="order",
            name="status",
            field=models.CharField(
                choices=STATUS_CHOICES,
                default="pending_payment",
                max_length=20,
                verbose_name="status",
            ),
        ),
        migrations.AlterField(
            model_name="orderevent",
            name="from_status",
            field=models.CharField(
                blank=True, choices=STATUS_CHOICES, max_length=20, verbose_name="from"
            ),
        ),
        migrations.AlterField(
            model_name="orderevent",
            name="to_status",
            field=models.CharField(
                choices=STATUS_CHOICES, max_length=20, verbose_name="to"
            ),
        ),
    ]
