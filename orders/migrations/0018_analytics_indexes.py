# Indexes the dashboard and the rollup refresh read by (analytics, issue 14).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0017_flash_sales"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["paid_at"], name="orders_paid_at_idx"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["updated_at"], name="orders_updated_at_idx"),
        ),
    ]
