"""The back office's admin site: django-unfold's, asked once per request for the
apps and models a user may see.

A back-office page asks the site for its app list three times (Django's
`each_context` for the nav, unfold's index or sidebar, and
kameng.navigation's sidebar), and each time Django checks every registered
model admin's permissions again: a third of the home page's server time.
`KamengAdminSite` builds the list once per request and hands each caller its
own copy (callers mark and sort what they get)."""

from __future__ import annotations

import copy

from django.contrib import admin
from django.contrib.admin import sites
from unfold.apps import DefaultAppConfig
from unfold.sites import UnfoldAdminSite

_APPS_SEEN = "_kameng_admin_apps"


class KamengAdminSite(UnfoldAdminSite):
    def _build_app_dict(self, request, label=None):
        if label is not None:
            return super()._build_app_dict(request, label)
        seen = getattr(request, _APPS_SEEN, None)
        if seen is None or seen[0] is not request.user:
            seen = (request.user, super()._build_app_dict(request))
            setattr(request, _APPS_SEEN, seen)
        return copy.deepcopy(seen[1])


class UnfoldConfig(DefaultAppConfig):
    """unfold's app, installing KamengAdminSite as the admin site (unfold's own
    config installs its plain site the same way, before any admin registers)."""

    def ready(self):
        site = KamengAdminSite()
        admin.site = site
        sites.site = site
