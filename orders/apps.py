from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        # Imported once the app registry is ready: the receivers connect, and the
        # payment tasks register (Celery's autodiscovery imports orders.tasks only).
        from kameng.health import register_backlog
        from orders import signals  # noqa: F401
        from orders.paid_outbox import backlog
        from orders.payments import tasks  # noqa: F401

        register_backlog("paid_announcements", backlog)
