"""Every URL × every visitor answers as kameng.access says.

The walk takes every pattern from the URL resolver (nothing is listed by hand
here), fills its parameters with a real object's id where the admin needs one,
and requests it as an anonymous visitor, a buyer and each of the five roles. A
GET answered 405 is sent again as a POST, as an attacker would. The expected
answer comes from the map (kameng.access.URL_ACCESS) and the role table
(users/roles.py, through the database groups it syncs):

- allowed: 200, 404 (no such object), or a redirect that is not to a login page;
- a shop page that needs an account, for a visitor without one: 302 to the shop's
  login;
- any back-office page, for a visitor who is not staff: 302 to the back office's
  login;
- a back-office page, for staff without the permission: 403.

The walk is one case per visitor and group of URLs (by app for the back office,
the rest together), so that a parallel run shares it out; each case reads one
seeded shop per process (tests/kameng/conftest.py, `shared_rows`) and runs in
its own transaction, so a POST of one case never changes what another sees.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from kameng.access import ACTION_ACCESS, URL_ACCESS, Rule
from users.models import User
from users.roles import ROLES

VISITORS = ("anonymous", "buyer", *(role.code for role in ROLES))
MISSING_ID = "999999"
SAMPLES = {
    "pk": MISSING_ID,
    "supplier_id": MISSING_ID,
    "order_no": "NOSUCHORDER1",
    "topup_no": "NOSUCHTOPUP1",
    "channel": "sandbox",
    "fmt": "csv",
    "app_label": "catalog",
    "url": "no-such-page/",
    "content_type_id": MISSING_ID,
    "token": "NOSUCHGROUP1",  # a group buy's share token (shop:group)
    "code": "NOSUCHCODE1",  # an invite code (shop:invite)
    "kind": "excel",  # a report run's file (analytics:report_download)
}
ROUTE_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
# Parameters of a whole route: <converter:name> and regex groups (?P<name>…).
ROUTE_PARAMS = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")
ADMIN_OBJECT_ROUTE = re.compile(r"^admin/(?P<app>\w+)/(?P<model>\w+)/")
# The walk's cases: the largest apps' back-office URLs each, every other
# back-office URL, and every URL outside the back office (`url_group`).
ADMIN_APPS_ALONE = ("marketing", "orders", "catalog")
URL_GROUPS = (*(f"admin-{app}" for app in ADMIN_APPS_ALONE), "admin-other", "site")


def url_patterns():
    """(key, route, pattern, name) of every pattern: key is the map's key, the
    namespaced name or, for an unnamed pattern or a name two patterns share,
    its route."""
    found = list(all_patterns(get_resolver().url_patterns))
    names = Counter(name for _route, _pattern, name in found if name)
    for route, pattern, name in found:
        key = name if name and names[name] == 1 else route
        yield key, route, pattern, name


def url_group(route: str) -> str:
    """The walk's case a route belongs to: every route has exactly one."""
    if not route.startswith("admin/"):
        return "site"
    app = route.split("/")[1]
    return f"admin-{app}" if app in ADMIN_APPS_ALONE else "admin-other"


def all_patterns(patterns, prefix="", namespace=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = ":".join(filter(None, (namespace, entry.namespace)))
            yield from all_patterns(entry.url_patterns, route, inner)
            continue
        assert isinstance(entry, URLPattern)
        name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
        yield route, entry, name


def object_id(route: str) -> str:
    """The id of a real row for an admin URL naming one, else a missing id."""
    found = ADMIN_OBJECT_ROUTE.match(route)
    if found:
        try:
            model = apps.get_model(found["app"], found["model"])
        except LookupError:
            return MISSING_ID
        row = model._default_manager.order_by("pk").first()
        if row is not None:
            return str(row.pk)
    return MISSING_ID


def concrete_path(route: str, name: str | None) -> str:
    params = [a or b for a, b in ROUTE_PARAMS.findall(route)]
    values = {
        param: object_id(route) if param in ("object_id", "id") else SAMPLES[param]
        for param in params
    }
    if name:
        return reverse(name, kwargs=values)
    return "/" + ROUTE_PARAM.sub(lambda m: values[m["name"]], route).replace(
        "(?P<url>.*)$", values.get("url", "")
    )


LOGIN_PAGES = {"/admin/login/": "admin login", "/shop/login/": "shop login"}


def expected(rule: Rule, key: str, path: str, user) -> str:
    if rule.allows(user):
        return "open"
    staff = user.is_authenticated and user.is_active and user.is_staff
    if rule.kind in ("staff", "nobody"):
        if not staff:
            return "admin login"
        if key.endswith("_history") and MISSING_ID in path:
            # Django's history page looks the object up before the permission:
            # a missing one sends any member of staff to the index.
            return "open"
        return "403"
    return "shop login"  # rule.kind == "login"


def answer(client: Client, path: str, *, follow: bool) -> str:
    """What the visitor ends up with: a GET (a POST where GET is not allowed),
    following redirects that do not lead to a login page when `follow`."""
    response = client.get(path)
    if response.status_code == 405:
        response = client.post(path)
    for _hop in range(3 if follow else 1):
        if response.status_code not in (301, 302):
            break
        location = response["Location"]
        for login_path, kind in LOGIN_PAGES.items():
            if location.startswith(login_path):
                return kind
        if not (follow and location.startswith("/")):
            return "open"
        response = client.get(location)
    if response.status_code == 403:
        return "403"
    if response.status_code in (200, 400, 401, 404, 301, 302):
        return "open"
    return str(response.status_code)


def make_visitor(code: str, role_user):
    if code == "anonymous":
        return AnonymousUser()
    if code == "buyer":
        return User.objects.create_user(username="walk-buyer", password="x-pass-1")
    return role_user(code, username=f"walk-{code}")


def test_every_url_has_an_entry_in_the_access_map():
    missing = [
        f"{route!r} (name {key!r})"
        for key, route, _pattern, _name in url_patterns()
        if key not in URL_ACCESS
    ]
    assert not missing, (
        "URLs without an entry in kameng.access.URL_ACCESS (add one line each, "
        "e.g. 'orders:add_note': perms('orders.add_ordernote')):\n  "
        + "\n  ".join(missing)
    )


def test_the_map_names_no_url_that_does_not_exist():
    keys = {key for key, *_rest in url_patterns()}
    assert not sorted(set(URL_ACCESS) - keys)


def test_every_url_falls_in_exactly_one_group_of_the_walk():
    groups = Counter(url_group(route) for _key, route, *_rest in url_patterns())
    assert set(groups) == set(URL_GROUPS), groups  # no group left empty
    assert groups.total() == len(list(url_patterns()))


@pytest.fixture(scope="class")
def seeded(shared_rows):
    """A shop with one of most things, so admin pages open on real rows: seeded
    once per process for all the walk's cases."""
    with shared_rows.writing(DEBUG=True):
        call_command("seed_demo", buyers=2, verbosity=0)


@pytest.mark.slow
class TestTheWalk:
    """Every URL × every visitor, one case per visitor and group of URLs."""

    @pytest.mark.parametrize("group", URL_GROUPS)
    @pytest.mark.parametrize("visitor", VISITORS)
    def test_every_url_answers_each_visitor_as_the_map_says(
        self, seeded, db, settings, role_user, visitor, group
    ):
        # The visitors log in with force_login: no password is ever checked, so
        # none is worth Argon2's deliberate slowness.
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        user = make_visitor(visitor, role_user)
        # One client (its middleware is loaded once), no cookie carried over:
        # each URL is a visit of its own, as a new Client's would be.
        client = Client()
        wrong = []
        for key, route, _pattern, name in url_patterns():
            rule = URL_ACCESS.get(key)
            if rule is None or url_group(route) != group:
                continue  # no rule: test_every_url_has_an_entry_in_the_access_map
            path = concrete_path(route, name if key == name else None)
            client.cookies.clear()
            if user.is_authenticated:
                client.force_login(user)
            # A public redirect (/ to the back office) may lead to a login.
            follow = rule.kind != "public"
            got = answer(client, path + rule.sample_query, follow=follow)
            want = expected(rule, key, path, user)
            if want != got:
                wrong.append(f"{visitor} {path} ({key}): expected {want}, got {got}")
        assert not wrong, "\n  ".join(["Answers not as kameng.access says:", *wrong])


def registered_actions():
    superuser = User(username="walk-root", is_staff=True, is_superuser=True)
    request = RequestFactory().get("/admin/")
    request.user = superuser
    for model, model_admin in admin.site._registry.items():
        for action in model_admin.get_actions(request):
            yield (
                f"{model._meta.app_label}.{model._meta.model_name}:{action}",
                (
                    model,
                    action,
                ),
            )


def test_every_admin_action_has_an_entry():
    missing = sorted(key for key, _ in registered_actions() if key not in ACTION_ACCESS)
    assert not missing, (
        "Admin actions without an entry in kameng.access.ACTION_ACCESS:\n  "
        + "\n  ".join(missing)
    )


@pytest.mark.parametrize("role", [role.code for role in ROLES])
def test_each_action_is_offered_exactly_as_the_map_says(db, role_user, role):
    user = role_user(role)
    request = RequestFactory().get("/admin/")
    request.user = user
    wrong = []
    for key, (model, action) in registered_actions():
        offered = action in admin.site._registry[model].get_actions(request)
        if key in ACTION_ACCESS and offered != ACTION_ACCESS[key].allows(user):
            wrong.append(f"{key}: offered={offered}")
    assert not wrong, "\n".join(wrong)
