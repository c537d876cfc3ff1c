"""Start-up checks (`manage.py check`, runserver): say plainly what is misconfigured."""

from django.conf import settings
from django.core.checks import Warning, register


@register()
def redis_reachable(app_configs, **kwargs):
    if not settings.REDIS_URL:
        return []
    from kameng.health import check_broker

    result = check_broker()
    if result["ok"]:
        return []
    return [
        Warning(
            result["error"],
            hint="Start Redis or fix REDIS_URL in .env; /healthz shows the state.",
            id="kameng.W001",
        )
    ]
