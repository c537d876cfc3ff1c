from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Insight",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
            ],
            options={
                "verbose_name": "insight",
                "verbose_name_plural": "insights",
                "permissions": [("view_insights", "Can see the insight pages")],
                "managed": False,
                "default_permissions": (),
            },
        ),
    ]
