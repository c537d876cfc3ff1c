"""Shared fixtures and the rules for tests that need real services.

Tests marked `postgres`, `redis` or `browser` skip with a reason when that service
is absent, except in CI (CI=true), where a missing service is a failure: CI always
provides all three, and a silently skipped concurrency test proves nothing.
"""

import os
import shutil

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from kameng.celery import app as celery_app
from orders import checkout
from tests.vendor_paths import vendor_path

CHROMIUM = os.environ.get("KAMENG_CHROMIUM", "/usr/bin/chromium")

# In a parallel run (pytest-xdist), settings gave this process its own Redis
# database (kameng.config.per_test_worker). Processes the tests start (a Celery
# worker, web server, manage.py) inherit that database as it is, not rewritten again.
if os.environ.pop("PYTEST_XDIST_WORKER", None) and settings.REDIS_URL:
    os.environ["REDIS_URL"] = settings.REDIS_URL


# Every request closes its database connection (production keeps one for
# CONN_MAX_AGE). The live server answers a browser's keep-alive connection in a
# thread that lives as long as the socket; with a kept connection, such threads
# were still in the test database when the run ended, and it could not be
# dropped ("is being accessed by other users"). The test client's requests keep
# theirs either way (Django's test client does not close connections).
settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


def _missing(marker: str) -> str | None:
    if marker == "postgres" and connection.vendor != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if marker == "redis" and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://..."
    if marker == "browser" and not (shutil.which(CHROMIUM) or os.path.exists(CHROMIUM)):
        return f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(autouse=True)
def _require_services(request):
    for marker in ("postgres", "redis", "browser"):
        if request.node.get_closest_marker(marker) is None:
            continue
        reason = _missing(marker)
        if reason is None:
            continue
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must provide this: {reason}")
        pytest.skip(reason)


@pytest.fixture(autouse=True, scope="session")
def _in_memory_cache_and_broker():
    """Without Redis, web, worker and beat share a file cache and broker folder in
    var/; tests keep theirs in memory, apart from a running demo (whose worker
    would otherwise run the tests' messages) and from each other."""
    if settings.REDIS_URL:
        yield
        return
    locmem = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = "memory://"
    with override_settings(CACHES={**settings.CACHES, "default": locmem}):
        yield
    celery_app.conf.broker_url = previous


@pytest.fixture(autouse=True, scope="session")
def _eager_celery():
    """Tasks run in-process in tests; tests of the real worker start their own."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _suite_settings(settings):
    """The settings every test runs with (tests/suite.py says why each)."""
    from tests.suite import suite_settings

    for name, value in suite_settings().items():
        setattr(settings, name, value)


@pytest.fixture
def role_user(db):
    """Factory: a staff member holding one role, e.g. role_user("support")."""
    from django.contrib.auth.models import Group

    from users.models import User
    from users.roles import ROLE_BY_CODE

    def make(code: str, username: str | None = None) -> User:
        role = ROLE_BY_CODE[code]
        user = User.objects.create_user(
            username=username or f"{code}-staff",
            password="x-test-password",
            is_staff=True,
            is_superuser=code == "superadmin",
        )
        user.groups.add(Group.objects.get(name=role.group_name))
        return user

    return make


@pytest.fixture(autouse=True)
def _force_login_passes_two_factor(request, monkeypatch):
    """Client.force_login()/login() of a member of staff who needs two-factor
    (the super admin, finance) opens a session that already passed the second
    step, as if they had typed their code: the rule itself stays on and is
    tested by tests/users/test_two_factor.py (marked `real_two_factor`, which
    leaves force_login alone). The browser tests type a real code
    (tests/e2e/helpers.py)."""
    if request.node.get_closest_marker("real_two_factor"):
        return
    from django.test.client import ClientMixin

    from tests.otp import mark_verified

    original = ClientMixin._login

    def login_and_verify(self, user, backend=None):
        original(self, user, backend)
        mark_verified(self, user)

    monkeypatch.setattr(ClientMixin, "_login", login_and_verify)


@pytest.fixture(autouse=True)
def _cold_process_caches():
    """Each test starts without what another test's database left in this
    process's caches (tests/suite.py: sale, flash sale, module switches,
    buyer figures)."""
    from tests.suite import forget_process_caches

    forget_process_caches()


@pytest.fixture(params=["sql", "orm"])
def sale_path(request, monkeypatch):
    """Which path buy_with_wallet takes for card codes in this test."""
    return vendor_path(
        request,
        monkeypatch,
        checkout,
        "SQL_SALE_VENDORS",
        "the hand-written sale needs PostgreSQL",
    )
