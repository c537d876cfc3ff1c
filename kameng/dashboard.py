"""The landing page's figures. Each app contributes a section as it grows."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kameng.selectors import dashboard_sections


def dashboard_callback(request, context):
    context["kameng_sections"] = dashboard_sections(user=request.user)
    return context


def environment_callback(request):
    if settings.EMBEDDED:
        return [_("Demo (SQLite)"), "warning"]
    if settings.DEBUG:
        return [_("Development"), "info"]
    return None
