# A card batch is "checking" while a worker reads the uploaded file (the preview
# left the web request).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_stock_codes_suppliers_pricing"),
    ]

    operations = [
        migrations.AlterField(
            model_name="cardbatch",
            name="status",
            field=models.CharField(
                choices=[
                    ("checking", "Checking"),
                    ("previewed", "Previewed"),
                    ("queued", "Queued"),
                    ("importing", "Importing"),
                    ("done", "Imported"),
                    ("failed", "Failed"),
                    ("voided", "Voided"),
                ],
                default="previewed",
                max_length=16,
                verbose_name="status",
            ),
        ),
    ]
