from django.conf import settings
from django.utils.functional import SimpleLazyObject

from kameng import modules as optional_modules
from kameng.models import AuditVerification
from kameng.sealing import describe


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


def backlog_banner(request):
    """`kameng_stale_backlogs` for the back-office banner: work the worker has
    left waiting too long (kameng.health.BACKLOGS), read only by the template
    that shows it, and only for staff."""

    def check():
        from kameng.health import stale_backlogs

        return stale_backlogs()

    return {"kameng_stale_backlogs": SimpleLazyObject(check)}


def audit_alert(request):
    """`kameng_audit_alert`: the latest audit verification, when it found
    problems (the super admin's banner); read only by the template that shows it
    and only for the super admin."""

    def latest_failed():
        user = getattr(request, "user", None)
        if user is None or not user.is_superuser:
            return None
        latest = AuditVerification.objects.order_by("-id").first()
        if latest is None or not latest.problems:
            return None
        return {
            "ran_at": latest.ran_at,
            "count": len(latest.problems),
            "messages": [describe(problem) for problem in latest.problems[:5]],
        }

    return {"kameng_audit_alert": SimpleLazyObject(latest_failed)}


def modules(request):
    """`modules.<code>`: whether an optional module is on (kameng.modules), read
    from the cache only when a template asks."""
    return {"modules": SimpleLazyObject(optional_modules.states)}
