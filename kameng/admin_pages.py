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
from django.template.response import TemplateResponse

from kameng.permission_denied import MissingPermission


def staff_page(permission: str | tuple[str, ...] | None) -> Callable:
    permissions = (permission,) if isinstance(permission, str) else permission or ()

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if not request.user.has_perms(permissions):
                raise MissingPermission(
                    p for p in permissions if not request.user.has_perm(p)
                )
            return view(request, *args, **kwargs)

        return admin.site.admin_view(guarded)

    return decorate


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
