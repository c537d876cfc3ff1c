"""403 and 404 pages people can read, and a 403 that logs one line.

Under /admin/ a staff member gets the page inside the back office (sidebar and
all), in Chinese, told which permission is missing when it is known: custom pages
raise MissingPermission with it; a model admin's page is named by its URL
(`admin:catalog_sku_add` needs catalog.add_sku). Everyone else, and every URL
outside /admin/, gets the shop's layout.
"""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext

from kameng.permission_denied import MissingPermission, wanted_permissions
from kameng.permission_names import describe_permissions


def _in_back_office(request) -> bool:
    user = getattr(request, "user", None)
    return request.path_info.startswith("/admin/") and bool(user and user.is_staff)


def render_error(request, *, status: int, title: str, message: str, missing=()):
    context = {"title": title, "message": message, "missing": missing}
    if _in_back_office(request):
        template = "admin/kameng/error.html"
        context = {**admin.site.each_context(request), **context}
    else:
        template = "shop/error.html"
    response = TemplateResponse(request, template, context, status=status)
    return response.render()


def permission_denied(request, exception=None):
    missing = describe_permissions(wanted_permissions(request, exception))
    # A service's own refusal is a translated sentence; Django's carry none.
    told = "" if isinstance(exception, MissingPermission) else str(exception or "")
    return render_error(
        request,
        status=403,
        title=gettext("No permission"),
        message=told or gettext("Your role does not allow this page."),
        missing=missing,
    )


def page_not_found(request, exception=None):
    return render_error(
        request,
        status=404,
        title=gettext("Page not found"),
        message=gettext("There is nothing at this address, or it no longer exists."),
    )
