"""Content-Security-Policy (issue 15): one strict policy for every page, and the
back office's few additions on top of it.

settings.CONTENT_SECURITY_POLICY is the policy of the shop, the payment pages and
everything else: scripts, styles, images, fonts and requests only from this site,
no inline script or style, no plugins, no framing. Pages under /admin/ run
django-unfold, whose Alpine.js evaluates its x-data/x-on expressions with
`new Function` and sets style attributes: settings.CONTENT_SECURITY_POLICY_BACK_OFFICE
lists what the back office adds to the policy there (docs/architecture.md,
"Content-Security-Policy (issue 15)", says why each addition is needed).
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse


def back_office_prefix() -> str:
    """/admin/ (wherever the admin site is mounted)."""
    return reverse("admin:index")


def is_back_office(request: HttpRequest) -> bool:
    return request.path_info.startswith(back_office_prefix())


class PolicyByAreaMiddleware(CSPMiddleware):
    """django-csp's middleware, adding the back office's additions on its pages.

    A view's own @csp/@csp_update/@csp_replace still wins over both (none uses
    them today)."""

    def get_policy_parts(
        self,
        request: HttpRequest,
        response: HttpResponseBase,
        report_only: bool = False,
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and parts.update is None and is_back_office(request):
            parts.update = settings.CONTENT_SECURITY_POLICY_BACK_OFFICE
        return parts
