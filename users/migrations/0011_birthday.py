# The buyer's birthday (marketing's birthday gift; editable on the shop account
# page and in the buyer admin).

from django.db import migrations, models

import users.models


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0010_points"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="birthday",
            field=models.DateField(
                blank=True,
                null=True,
                validators=[users.models.validate_birthday],
                verbose_name="birthday",
            ),
        ),
    ]
