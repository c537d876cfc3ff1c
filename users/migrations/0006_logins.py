# Logins (issue 15): which step of a login an event records (password, the
# authenticator code, or a recovery code), for the login history pages.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0005_user_email_search"),
    ]

    operations = [
        migrations.AddField(
            model_name="loginevent",
            name="method",
            field=models.CharField(
                choices=[
                    ("password", "Password"),
                    ("totp", "Authenticator code"),
                    ("recovery", "Recovery code"),
                ],
                default="password",
                max_length=8,
                verbose_name="step",
            ),
        ),
    ]
