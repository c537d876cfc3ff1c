from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kameng.health import health_report


@never_cache
@require_GET
def healthz(request):
    """Machine-readable health for load balancers and monitoring: 200 or 503."""
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico on their own. Resolved per request: the hashed
    name exists only once collectstatic has run, and a worker never runs it."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
