"""The back-office sidebar: one group per app, only what the person may see.

Built from the admin registry, so a model registered by a later issue appears by
itself. Custom pages (inventory monitor, order workbench, ...) add themselves with
`register_page`, naming the permission that guards them, so the sidebar and the
URL's access check never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kameng import modules

APP_ICONS = {
    "users": "group",
    "catalog": "inventory_2",
    "marketing": "campaign",
    "orders": "receipt_long",
    "analytics": "monitoring",
    "auth": "admin_panel_settings",
    "django_celery_beat": "schedule",
}


@dataclass(frozen=True)
class Page:
    app_label: str
    title: str
    url_name: str
    permission: str | None
    icon: str = "dashboard"


PAGES: list[Page] = []


def register_page(page: Page) -> Page:
    PAGES.append(page)
    return page


def page_is_on(page: Page) -> bool:
    module = modules.page_module(page.url_name)
    return module is None or modules.is_enabled(module.code)


def sidebar_navigation(request) -> list[dict]:
    groups = [
        {
            "title": _("Overview"),
            "items": [
                {
                    "title": _("Dashboard"),
                    "icon": "space_dashboard",
                    "link": reverse("admin:index"),
                }
            ],
        }
    ]
    app_list = admin.site.get_app_list(request)
    # An app with custom pages but no model in the admin (analytics) still gets
    # its group, after the others.
    listed = {app["app_label"] for app in app_list}
    for label in dict.fromkeys(page.app_label for page in PAGES):
        if label not in listed:
            name = apps.get_app_config(label).verbose_name
            app_list.append({"app_label": label, "name": name, "models": []})
    for app in app_list:
        label = app["app_label"]
        items = [
            {
                "title": page.title,
                "icon": page.icon,
                "link": reverse(page.url_name),
            }
            for page in PAGES
            if page.app_label == label
            and page_is_on(page)
            and (page.permission is None or request.user.has_perm(page.permission))
        ]
        items += [
            {
                "title": model["name"],
                "icon": APP_ICONS.get(label, "table"),
                "link": model["admin_url"],
            }
            for model in app["models"]
            if model.get("admin_url")
        ]
        if items:
            groups.append({"title": app["name"], "collapsible": True, "items": items})
    return groups
