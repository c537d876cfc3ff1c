# Buyers' contacts encrypted at rest (issue 15): the phone and e-mail columns hold
# Fernet tokens (FIELD_ENCRYPTION_KEY), found by exact match through keyed blind
# indexes (kameng.fields). Existing rows are encrypted in primary-key batches with
# plain SQL, the same on SQLite and PostgreSQL. Reversible: going back decrypts
# every row (it needs the keys that encrypted them) before the columns shrink back.

import kameng.fields
from django.db import migrations, models

COLUMNS = [
    kameng.fields.Column("phone", "phone_index"),
    kameng.fields.Column("email", "email_index"),
]


def encrypt_contacts(apps, schema_editor):
    kameng.fields.reseal_table(
        schema_editor.connection, "users_user", COLUMNS, mode="encrypt"
    )


def decrypt_contacts(apps, schema_editor):
    kameng.fields.reseal_table(
        schema_editor.connection, "users_user", COLUMNS, mode="decrypt"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0011_birthday"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="user", name="users_user_phone_idx"),
        migrations.RemoveIndex(model_name="user", name="users_user_email_upper_idx"),
        migrations.AddField(
            model_name="user",
            name="phone_index",
            field=kameng.fields.BlindIndexField(source="phone"),
        ),
        migrations.AddField(
            model_name="user",
            name="email_index",
            field=kameng.fields.BlindIndexField(source="email"),
        ),
        migrations.AlterField(
            model_name="user",
            name="phone",
            field=kameng.fields.EncryptedTextField(
                blank=True, max_length=20, verbose_name="phone"
            ),
        ),
        migrations.AlterField(
            model_name="user",
            name="email",
            field=kameng.fields.EncryptedEmailField(
                blank=True, max_length=254, verbose_name="email address"
            ),
        ),
        migrations.RunPython(encrypt_contacts, decrypt_contacts),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["phone_index"], name="users_user_phone_bidx"),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["email_index"], name="users_user_email_bidx"),
        ),
    ]
