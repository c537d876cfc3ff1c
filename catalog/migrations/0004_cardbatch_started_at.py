# When a batch's import started: the sweeper fails a batch stuck importing after
# its worker died (its transaction rolled back), so its plaintext upload goes.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_cardbatch_checking"),
    ]

    operations = [
        migrations.AddField(
            model_name="cardbatch",
            name="started_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="import started at"
            ),
        ),
    ]
