"""Custom back-office pages inside the admin site and its layout.

A custom page is a plain view wrapped by `staff_page(permission)`: the admin's own
login redirect, a 403 without the permission, and the admin context (sidebar,
site title, language switch) merged into what the view renders. Pages extend
`admin/kameng/page.html`. Register the page with kameng.navigation.register_page
(same permission) so the sidebar shows it exactly to those who may open it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import admin
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.translation import gettext

from kameng import audit, modules
from kameng.permission_denied import MissingPermission


def staff_page(permission: str | tuple[str, ...] | None) -> Callable:
    permissions = (permission,) if isinstance(permission, str) else permission or ()

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(request, *args, **kwargs):
            match = request.resolver_match
            module = match and modules.page_module(match.view_name)
            if module and not modules.is_enabled(module.code):
                raise Http404(gettext("This module is switched off."))
            if not request.user.has_perms(permissions):
                raise MissingPermission(
                    p for p in permissions if not request.user.has_perm(p)
                )
            recorded = audit.recorded_so_far()
            response = view(request, *args, **kwargs)
            if (
                request.method == "POST"
                and response.status_code in REDIRECTS
                and audit.recorded_so_far() == recorded
            ):
                record_page_change(request)
            return response

        return admin.site.admin_view(guarded)

    return decorate


# A POST answered with a redirect is a change made (the page's form was valid).
REDIRECTS = frozenset({301, 302, 303})
# Posted fields the audit row leaves out (tokens, secrets, uploaded text).
UNRECORDED_FIELDS = ("csrf", "password", "secret", "token", "otp", "codes")


def record_page_change(request) -> None:
    """A custom page's change whose service wrote no audit row of its own: the
    row names the page and what was posted (secrets left out)."""
    posted = {
        name: request.POST.getlist(name)
        for name in request.POST
        if not any(part in name.lower() for part in UNRECORDED_FIELDS)
    }
    audit.record(
        actor=request.user,
        action="backoffice.page",
        object_repr=request.path,
        after={
            name: values[0] if len(values) == 1 else values
            for name, values in posted.items()
        },
        request=request,
    )


def render_page(request, template: str, context: dict, *, title: str, status=200):
    """Render a custom page with the admin site's context (sidebar, branding)."""
    return TemplateResponse(
        request,
        template,
        {**admin.site.each_context(request), "title": title, **context},
        status=status,
    )


class ReadOnlyMixin:
    """For records that only services write (ledgers, payments, audit rows, events):
    the admin shows them and never adds, edits or deletes one. Works for model
    admins and inlines alike."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
