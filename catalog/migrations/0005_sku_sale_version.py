# Sku.sale_version, moved by database triggers whenever anything a sale reads
# changes: a column of the SKU row other than its stock, its product, its level
# prices, its quantity tiers, the name of a member level it has a price for.
# Triggers, not Python signals: a queryset update(), an import, psql or another
# process all move it, so the per-process sale cache (catalog.services.sale_cache)
# can never sell at a price an operator has changed (the sale checks the version
# in the statement that moves the stock, under the SKU's row lock).
#
# The statements are catalog.sale_version's (SQLite installs them again after
# every migrate: its table rebuilds drop triggers).
#
# The version only goes up: a save from a stale instance (an older version read
# before another change) keeps or raises it, never lowers it.

from django.db import migrations, models

from catalog import sale_version


def create_triggers(apps, schema_editor):
    sale_version.install(schema_editor.connection, apps)


def drop_triggers(apps, schema_editor):
    sale_version.uninstall(schema_editor.connection, apps)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_cardbatch_started_at"),
        ("users", "0003_member_levels"),
    ]

    operations = [
        migrations.AddField(
            model_name="sku",
            name="sale_version",
            field=models.BigIntegerField(
                default=1, editable=False, verbose_name="sale version"
            ),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
