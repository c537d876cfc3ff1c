from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class KamengConfig(AppConfig):
    name = "kameng"
    verbose_name = _("Kameng")

    def ready(self):
        from kameng import checks  # noqa: F401 - registers system checks
        from kameng.beat import sync_beat_schedule_after_migrate

        post_migrate.connect(
            sync_beat_schedule_after_migrate, dispatch_uid="kameng.sync_beat"
        )
