# Contacts (issue 15): an export records whether it carries full contacts.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0012_recommendations"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderexport",
            name="with_contacts",
            field=models.BooleanField(default=False, verbose_name="with full contacts"),
        ),
    ]
