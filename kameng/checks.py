"""Start-up checks (`manage.py check`, runserver): say plainly what is misconfigured."""

from django.conf import settings
from django.core.checks import Warning, register

from kameng.health import check_broker


@register()
def broker_reachable(app_configs, **kwargs):
    """The broker tasks go to: Redis answers, or the filesystem transport's folder
    is there and writable."""
    result = check_broker()
    if result["ok"]:
        return []
    if settings.REDIS_URL:
        hint = "Start Redis or fix REDIS_URL in .env; /healthz shows the state."
    else:
        hint = (
            "Tasks are queued as files there: make it a writable folder "
            "(it lives under KAMENG_VAR_DIR, default var/)."
        )
    return [Warning(result["error"], hint=hint, id="kameng.W001")]
