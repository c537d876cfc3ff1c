# The checkout blacklist encrypted at rest (issue 15): every entry's value, whatever
# its kind, is a Fernet token (FIELD_ENCRYPTION_KEY) with a keyed blind index
# beside it (kameng.fields), and the unique constraint moves from (kind, value) to
# (kind, value_index): the checkout's one query looks the digests up there.
# Existing rows are encrypted in primary-key batches with plain SQL, the same on
# SQLite and PostgreSQL; their digest is that of the stored, already normalised
# value. Two old entries that the contact rules now call the same value (a phone
# number typed "+86 138…" and "138…") become one: the oldest is kept, switched on
# if either was. Reversible: going back decrypts every row first (the merged
# duplicates are not split again; they blocked the same value).

from django.db import migrations, models

import kameng.fields

TABLE = "orders_blacklistentry"
COLUMNS = [kameng.fields.Column("value", "value_index")]


def merge_duplicates(connection) -> int:
    """Fold entries with the same (kind, digest) into the oldest one; how many
    rows were removed."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, kind, value_index, active FROM {TABLE} ORDER BY id")
        rows = cursor.fetchall()
    kept: dict[tuple[str, str], list] = {}
    doomed, switch_on = [], set()
    for pk, kind, digest, active in rows:
        first = kept.setdefault((kind, digest), [pk, bool(active)])
        if first[0] == pk:
            continue
        doomed.append(pk)
        if active and not first[1]:
            first[1] = True
            switch_on.add(first[0])
    with connection.cursor() as cursor:
        for start in range(0, len(doomed), 500):
            chunk = doomed[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM {TABLE} WHERE id IN ({marks})", chunk)
        for pk in sorted(switch_on):
            cursor.execute(f"UPDATE {TABLE} SET active = %s WHERE id = %s", [True, pk])
    return len(doomed)


def encrypt_rows(apps, schema_editor):
    connection = schema_editor.connection
    kameng.fields.reseal_table(connection, TABLE, COLUMNS, mode="encrypt")
    merge_duplicates(connection)


def decrypt_rows(apps, schema_editor):
    kameng.fields.reseal_table(schema_editor.connection, TABLE, COLUMNS, mode="decrypt")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0019_encrypted_recharge_accounts"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="blacklistentry", name="orders_blacklist_kind_value_uniq"
        ),
        migrations.AddField(
            model_name="blacklistentry",
            name="value_index",
            field=kameng.fields.BlindIndexField(source="value"),
        ),
        migrations.AlterField(
            model_name="blacklistentry",
            name="value",
            field=kameng.fields.EncryptedTextField(
                max_length=150, verbose_name="value"
            ),
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows),
        migrations.AddConstraint(
            model_name="blacklistentry",
            constraint=models.UniqueConstraint(
                fields=("kind", "value_index"), name="orders_blacklist_kind_bidx_uniq"
            ),
        ),
    ]
