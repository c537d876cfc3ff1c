"""Two-factor secrets encrypted at rest (issue 15): users.Authenticator replaces
django-otp's TOTPDevice, whose key column is plain hex. Every existing device is
copied over with its secret encrypted under the current FIELD_ENCRYPTION_KEY
(same secret, same settings, same last accepted step: enrolled staff keep their
app and their codes), then the plain rows are deleted. A session verified with
an old device asks for one code again."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

COPIED = (
    "user_id",
    "name",
    "confirmed",
    "throttling_failure_timestamp",
    "throttling_failure_count",
    "created_at",
    "last_used_at",
    "step",
    "t0",
    "digits",
    "tolerance",
    "drift",
    "last_t",
)


def encrypt_existing(apps, schema_editor):
    from kameng import crypto

    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    Authenticator = apps.get_model("users", "Authenticator")
    version = crypto.current_key_version()
    for device in TOTPDevice.objects.order_by("pk"):
        copy = Authenticator.objects.create(
            encrypted_key=crypto.encrypt(device.key.lower()),
            key_version=version,
            **{name: getattr(device, name) for name in COPIED},
        )
        # auto_now_add stamped it now: keep when the device was enrolled
        Authenticator.objects.filter(pk=copy.pk).update(created_at=device.created_at)
    TOTPDevice.objects.all().delete()


def decrypt_back(apps, schema_editor):
    """Going back to django-otp's table (the key plain again)."""
    from kameng import crypto

    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    Authenticator = apps.get_model("users", "Authenticator")
    for device in Authenticator.objects.order_by("pk"):
        TOTPDevice.objects.create(
            key=crypto.decrypt(device.encrypted_key),
            **{name: getattr(device, name) for name in COPIED},
        )
    Authenticator.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0012_encrypted_contacts"),
        ("otp_totp", "0003_add_timestamps"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Authenticator",
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
                (
                    "name",
                    models.CharField(
                        help_text="The human-readable name of this device.",
                        max_length=64,
                    ),
                ),
                (
                    "confirmed",
                    models.BooleanField(
                        default=True, help_text="Is this device ready for use?"
                    ),
                ),
                (
                    "throttling_failure_timestamp",
                    models.DateTimeField(
                        blank=True,
                        default=None,
                        help_text="A timestamp of the last failed verification "
                        "attempt. Null if last attempt succeeded.",
                        null=True,
                    ),
                ),
                (
                    "throttling_failure_count",
                    models.PositiveIntegerField(
                        default=0, help_text="Number of successive failed attempts."
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        auto_now_add=True,
                        help_text="The date and time when this device was "
                        "initially created in the system.",
                        null=True,
                    ),
                ),
                (
                    "last_used_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="The most recent date and time this device was used.",
                        null=True,
                    ),
                ),
                (
                    "encrypted_key",
                    models.TextField(
                        editable=False, verbose_name="secret key (encrypted)"
                    ),
                ),
                (
                    "key_version",
                    models.CharField(
                        editable=False, max_length=12, verbose_name="key version"
                    ),
                ),
                (
                    "step",
                    models.PositiveSmallIntegerField(
                        default=30, verbose_name="time step (seconds)"
                    ),
                ),
                ("t0", models.BigIntegerField(default=0)),
                ("digits", models.PositiveSmallIntegerField(default=6)),
                ("tolerance", models.PositiveSmallIntegerField(default=1)),
                ("drift", models.SmallIntegerField(default=0)),
                ("last_t", models.BigIntegerField(default=-1)),
                (
                    "user",
                    models.ForeignKey(
                        help_text="The user that this device belongs to.",
                        on_delete=django.db.models.deletion.CASCADE,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "authenticator app",
                "verbose_name_plural": "authenticator apps",
                "abstract": False,
            },
        ),
        migrations.RunPython(encrypt_existing, decrypt_back),
    ]
