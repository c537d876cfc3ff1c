# Contacts (issue 15): the permission to export buyers' full contacts.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0007_money_risk"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="user",
            options={
                "permissions": [
                    (
                        "view_full_contact",
                        "Can see buyers' full contacts in exports",
                    )
                ],
                "verbose_name": "user",
                "verbose_name_plural": "users",
            },
        ),
    ]
