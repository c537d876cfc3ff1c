from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from catalog import sale_version


def _reinstall_sale_version_triggers(sender, using, apps=None, **kwargs):
    """SQLite drops a table's triggers when a migration rebuilds it: put the
    sale_version triggers back after every migrate (catalog.sale_version)."""
    connection = connections[using]
    if connection.vendor != "sqlite" or apps is None:
        return
    fields = {f.name for f in apps.get_model("catalog", "Sku")._meta.fields}
    if "sale_version" in fields:  # not when migrated back before catalog 0005
        sale_version.install(connection, apps)


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Catalog")

    def ready(self):
        post_migrate.connect(
            _reinstall_sale_version_triggers,
            sender=self,
            dispatch_uid="catalog.sale_version_triggers",
        )
