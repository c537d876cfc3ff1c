from django.conf import settings
from django.utils.functional import SimpleLazyObject


def worker_banner(request):
    """`kameng_workers_down` for the back-office banner, evaluated only by the
    templates that show it (one cache read), so other pages pay nothing."""

    def check():
        from kameng.health import workers_look_down

        return workers_look_down()

    return {
        "kameng_workers_down": SimpleLazyObject(check),
        "kameng_worker_stale_minutes": max(
            1, settings.WORKER_STALE_AFTER_SECONDS // 60
        ),
    }
