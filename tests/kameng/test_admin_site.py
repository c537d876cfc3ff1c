"""The back office's admin site works out which apps and models a user sees once
per request (kameng.admin_site), however many parts of the page ask."""

import pytest
from django.contrib import admin
from unfold.sites import UnfoldAdminSite

from kameng.admin_site import KamengAdminSite

pytestmark = pytest.mark.django_db


def test_a_page_checks_the_users_model_permissions_once(client, role_user, monkeypatch):
    builds = []
    build = UnfoldAdminSite._build_app_dict

    def counted(site, request, label=None):
        builds.append(label)
        return build(site, request, label)

    monkeypatch.setattr(UnfoldAdminSite, "_build_app_dict", counted)
    assert isinstance(admin.site, KamengAdminSite)
    client.force_login(role_user("operations"))
    page = client.get("/admin/")
    assert page.status_code == 200
    assert builds == [None]  # nav, sidebar and index shared one build
    assert "订单" in page.content.decode()


def test_each_user_gets_the_apps_they_may_see(client, role_user):
    client.force_login(role_user("finance"))
    finance = client.get("/admin/").context["available_apps"]
    client.force_login(role_user("marketing"))
    marketing = client.get("/admin/").context["available_apps"]
    models = {
        who: {m["object_name"] for app in apps for m in app["models"]}
        for who, apps in (("finance", finance), ("marketing", marketing))
    }
    assert "Coupon" in models["marketing"]
    assert models["finance"] != models["marketing"]
