# Guests' contacts and recharge accounts encrypted at rest (issue 15): the columns
# hold Fernet tokens (FIELD_ENCRYPTION_KEY; an empty account is ""), found by exact
# match through keyed blind indexes (kameng.fields): one digest for the contact, a
# list of digests for the account's values (GIN-indexed on PostgreSQL, replacing
# the GIN index on the plain JSON). Existing rows are encrypted in primary-key
# batches with plain SQL, the same on SQLite and PostgreSQL. Reversible: going
# back decrypts every row (with the keys that encrypted them) first.

import kameng.fields
from django.db import migrations, models

COLUMNS = [
    kameng.fields.Column("contact", "contact_index"),
    kameng.fields.Column(
        "recharge_account", "recharge_account_index", kameng.fields.JSON
    ),
]
OLD_GIN = "orders_recharge_account_gin_idx"  # 0008_workbench, on the plain JSON
NEW_GIN = "orders_recharge_bidx_gin"


def drop_plain_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {OLD_GIN}")


def create_plain_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {OLD_GIN} ON orders_order "
            "USING gin (recharge_account jsonb_path_ops)"
        )


def create_index_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NEW_GIN} ON orders_order "
            "USING gin (recharge_account_index jsonb_path_ops)"
        )


def drop_index_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NEW_GIN}")


def encrypt_rows(apps, schema_editor):
    kameng.fields.reseal_table(
        schema_editor.connection, "orders_order", COLUMNS, mode="encrypt"
    )


def decrypt_rows(apps, schema_editor):
    kameng.fields.reseal_table(
        schema_editor.connection, "orders_order", COLUMNS, mode="decrypt"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0018_analytics_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="order", name="orders_contact_idx"),
        migrations.RunPython(drop_plain_gin, create_plain_gin),
        migrations.AddField(
            model_name="order",
            name="contact_index",
            field=kameng.fields.BlindIndexField(source="contact"),
        ),
        migrations.AddField(
            model_name="order",
            name="recharge_account_index",
            field=kameng.fields.BlindIndexListField(source="recharge_account"),
        ),
        migrations.AlterField(
            model_name="order",
            name="contact",
            field=kameng.fields.EncryptedTextField(
                blank=True,
                help_text="Guest email or phone.",
                max_length=120,
                verbose_name="contact",
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="recharge_account",
            field=kameng.fields.EncryptedJSONField(
                blank=True, default=dict, verbose_name="recharge account"
            ),
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["contact_index"], name="orders_contact_bidx"),
        ),
        migrations.RunPython(create_index_gin, drop_index_gin),
    ]
