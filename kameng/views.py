from django.conf import settings
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kameng.health import health_report


def sees_health_detail(request) -> bool:
    """Staff, or monitoring sending settings.HEALTHZ_TOKEN in X-Health-Token."""
    if request.user.is_authenticated and request.user.is_staff:
        return True
    token = settings.HEALTHZ_TOKEN
    sent = request.headers.get("X-Health-Token", "")
    return bool(token) and constant_time_compare(sent, token)


@never_cache
@require_GET
def healthz(request):
    """Machine-readable health for load balancers and monitoring: 200 or 503.
    Anyone learns up or down; components, host names and errors only staff and
    holders of the health token."""
    detailed = sees_health_detail(request)
    report = health_report(figures=detailed)
    status = 200 if report["status"] == "ok" else 503
    if not detailed:
        report = {"status": report["status"]}
    return JsonResponse(report, status=status)


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico on their own. Resolved per request: the hashed
    name exists only once collectstatic has run, and a worker never runs it."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
