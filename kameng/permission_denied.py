"""What a 403 was missing, and a log line instead of a traceback.

Imports nothing that needs the app registry at import time: the logging config
(settings.LOGGING) loads PermissionDeniedOneLine before the apps are ready.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.urls import Resolver404, resolve

# Which permission a model admin view needs, by the last part of its URL name.
ADMIN_VIEW_PERMISSION = {
    "changelist": "view",
    "change": "view",
    "history": "view",
    "add": "add",
    "delete": "delete",
}


class MissingPermission(PermissionDenied):
    """A 403 that knows which permissions were missing (the 403 page names them)."""

    def __init__(self, permissions):
        self.permissions = tuple(permissions)
        super().__init__(", ".join(self.permissions))


def wanted_permissions(request, exception) -> list[str]:
    """The permissions whose lack caused this 403, as far as it can be told:
    MissingPermission says so; a model admin page is named by its URL
    (admin:catalog_sku_add needs catalog.add_sku); otherwise unknown ([])."""
    if isinstance(exception, MissingPermission):
        return list(exception.permissions)
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return []
    if match.namespace != "admin" or not match.url_name:
        return []
    for model in apps.get_models():
        opts = model._meta
        prefix = f"{opts.app_label}_{opts.model_name}_"
        action = match.url_name.removeprefix(prefix)
        if match.url_name.startswith(prefix) and action in ADMIN_VIEW_PERMISSION:
            return [
                f"{opts.app_label}.{ADMIN_VIEW_PERMISSION[action]}_{opts.model_name}"
            ]
    return []


class PermissionDeniedOneLine(logging.Filter):
    """django.request logs a 403 with its traceback; a refused permission is no
    error of ours, so it becomes one line naming the user and what was missing."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        if exc_info and isinstance(exc_info[1], PermissionDenied):
            request = getattr(record, "request", None)
            user = getattr(request, "user", None)
            wanted = wanted_permissions(request, exc_info[1]) if request else []
            username = getattr(user, "username", "") or "-"
            missing = ",".join(wanted) or "-"
            record.msg = f"{record.getMessage()} user={username} missing={missing}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True
