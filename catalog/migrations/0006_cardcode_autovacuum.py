"""Autovacuum on card codes at 1 % dead rows instead of PostgreSQL's 20 %.

Every sale turns an available code into a sold one: a dead row version whose
entry in the available-codes index (catalog_code_available_idx) stays until
a vacuum, and the sale's pick walks the index from its oldest codes, past
them. PostgreSQL's default waits for a fifth of the table to be dead (200,000
rows in a shop holding a million codes); measured on a table half dead, the
plain-SQL sale ran at ~800 sales/s against ~1,000 once vacuumed (issue 12).
Elsewhere (SQLite) nothing to do.
"""

from django.db import migrations

TABLE = "catalog_cardcode"
SETTINGS = {
    "autovacuum_vacuum_scale_factor": "0.01",
    "autovacuum_vacuum_threshold": "5000",
}


def tune(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    pairs = ", ".join(f"{name} = {value}" for name, value in SETTINGS.items())
    schema_editor.execute(f"ALTER TABLE {quote(TABLE)} SET ({pairs})")


def untune(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    schema_editor.execute(f"ALTER TABLE {quote(TABLE)} RESET ({', '.join(SETTINGS)})")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_sku_sale_version")]

    operations = [migrations.RunPython(tune, untune)]
