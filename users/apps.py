from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = _("Users and wallets")

    def ready(self):
        from users import signals  # noqa: F401 - connects the receivers
        from users.roles import sync_roles_after_migrate

        # After every app's migrations and permissions exist; the data migration
        # created the groups, this keeps their permissions equal to ROLES.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="users.sync_roles")
