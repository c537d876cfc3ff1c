"""No request, however malformed, makes any page answer 500.

Every URL pattern of the project gets its own test (a new URL is covered the
moment it is routed): Hypothesis throws arbitrary methods, path parameters,
query strings, headers and bodies (forms, multipart with a file, JSON, raw
bytes under any content type) at it, as an anonymous visitor and a buyer for
the public pages and as a superuser for the back office, over the demo data so
that real ids are among the path parameters. Each example runs in its own
transaction, rolled back after it. Examples are derandomized so CI sees the
same requests every run; FUZZ_SCALE=10 runs ten times as many, and FUZZ_RANDOM=1
draws new ones (to look further, away from CI).
"""

from __future__ import annotations

import os
from importlib import import_module
from unittest import mock

from django.apps import apps
from django.conf import settings
from django.test import Client, override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from kameng.demo import DemoContext
from orders import demo as orders_demo
from orders.models import Order
from tests.fuzz.strategies import (
    CHANNELS,
    NASTY,
    Route,
    all_routes,
    database_values,
    requests,
)
from users.models import User

# Demo staff and buyers get passwords; the real hasher would take seconds.
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SCALE = int(os.environ.get("FUZZ_SCALE", "1"))
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"

# Examples per URL: public endpoints are where strangers knock; of the back
# office, the lists (arbitrary filters) and custom pages get more than the
# per-object pages Django's admin generates alike for every model.
PUBLIC_EXAMPLES = 50
BACK_OFFICE_PAGE_EXAMPLES = 6
PER_OBJECT_EXAMPLES = 2
PER_OBJECT_SUFFIXES = ("/add/", "/history/", "/delete/", "/change/", "/password/")


def examples_for(route: Route) -> int:
    if not route.back_office:
        return PUBLIC_EXAMPLES * SCALE
    if route.model_admin is not None and route.route.endswith(PER_OBJECT_SUFFIXES):
        return PER_OBJECT_EXAMPLES * SCALE
    if route.route.endswith("<path:object_id>/"):  # the admin's redirect to change
        return PER_OBJECT_EXAMPLES * SCALE
    return BACK_OFFICE_PAGE_EXAMPLES * SCALE


def seed_demo_data() -> None:
    """Each app's demo data, as `seed_demo` loads it, with two buyers and two
    days of order history (orders in every state, not ninety days of them)."""
    ctx = DemoContext(buyers=2)
    with mock.patch.object(orders_demo, "DAYS", 2):
        for config in apps.get_app_configs():
            if config.name == "kameng":
                continue
            try:
                module = import_module(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise
                continue
            module.seed(ctx)


@override_settings(
    PASSWORD_HASHERS=FAST_HASHER,
    PAYMENT_CHANNELS=CHANNELS,
    SANDBOX_SUPPLIER_ENABLED=True,
)
class NoServerError(TestCase):
    """One test per route, added below; the demo data is loaded once for all."""

    @classmethod
    def setUpTestData(cls):
        seed_demo_data()
        User.objects.create_superuser("fuzz-admin", password="fuzz-admin-pw")
        cls.values = NASTY + database_values(apps.get_models())

    def setUp(self):
        self.sessions = {}
        buyer = (
            Order.objects.filter(buyer__isnull=False)
            .order_by("pk")
            .values_list("buyer", flat=True)
            .first()
        )
        for key, user in (
            ("superuser", User.objects.get(username="fuzz-admin")),
            ("buyer", User.objects.get(pk=buyer)),  # a demo buyer with orders
        ):
            client = Client()
            client.force_login(user)
            self.sessions[key] = client.cookies[settings.SESSION_COOKIE_NAME].value

    def assert_no_500(self, request) -> None:
        client = Client(raise_request_exception=False)
        if request.user in self.sessions:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[request.user]
        response = request.send(client)
        if response.streaming:
            b"".join(response.streaming_content)
        error = getattr(response, "exc_info", None)
        self.assertNotEqual(
            response.status_code,
            500,
            f"{request!r} raised {error[1]!r}" if error else repr(request),
        )


def _route_test(route: Route):
    users = (
        ("superuser", "superuser", "superuser", "anonymous")
        if route.back_office
        else ("buyer", "buyer", "anonymous")
    )

    @hypothesis_settings(
        max_examples=examples_for(route),
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        # A request renders a whole page: slow for Hypothesis, as expected.
        suppress_health_check=[HealthCheck.too_slow],
    )
    # The strategy draws ids from the database: st.data() builds it inside the
    # test, after setUpTestData has loaded the demo.
    @given(data=st.data())
    def test(self, data):
        request = data.draw(requests(route, self.values, users), label="request")
        self.assert_no_500(request)

    test.__doc__ = f"No request to {route.route or '/'} answers 500."
    return test


for _route in all_routes():
    _name = f"test_{_route.test_name}"
    assert not hasattr(NoServerError, _name), f"two routes make the test {_name}"
    setattr(NoServerError, _name, _route_test(_route))
del _route, _name
