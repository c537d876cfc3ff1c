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

CHROMIUM = os.environ.get("KAMENG_CHROMIUM", "/usr/bin/chromium")

# In a parallel run (pytest-xdist), settings gave this process its own Redis
# database (kameng.config.per_test_worker). Processes the tests start (a Celery
# worker, gunicorn, manage.py) inherit that database as it is, not rewritten again.
if os.environ.pop("PYTEST_XDIST_WORKER", None) and settings.REDIS_URL:
    os.environ["REDIS_URL"] = settings.REDIS_URL


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
    with override_settings(CACHES={"default": locmem}):
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
def _plain_static_storage(settings):
    """Pages render without a collectstatic manifest, whatever DEBUG says. And
    WhiteNoise looks a static file up when asked (autorefresh) instead of
    scanning staticfiles/ whenever a test client loads the middleware: once a
    bench's collectstatic has filled it, that scan cost 0.2-0.3 s per client,
    and a collectstatic running beside it made the scan fail (FileNotFoundError)."""
    settings.WHITENOISE_AUTOREFRESH = True
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }


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
def _sandbox_gateway_on(settings):
    """The sandbox payment gateway and supplier are off by default outside DEBUG
    (anyone could pay with the one; the other fakes deliveries); the tests use
    them, as the demo does."""
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "sandbox": {**settings.PAYMENT_CHANNELS["sandbox"], "enabled": True},
    }
    settings.SANDBOX_SUPPLIER_ENABLED = True


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    """Argon2 at its cheapest (tests/hashers.py): a user a test creates costs
    about a millisecond instead of 0.4 s."""
    from tests.hashers import quick_hashers

    settings.PASSWORD_HASHERS = quick_hashers(settings.PASSWORD_HASHERS)


@pytest.fixture(autouse=True)
def _login_lockout_off(settings):
    """django-axes refuses authenticate() calls without a request, which is how
    Client.login() and services' tests log in; the lockout tests
    (tests/kameng/test_login_lockout.py) switch it back on."""
    settings.AXES_ENABLED = False


@pytest.fixture(autouse=True)
def _rate_limits_off(settings):
    """Tests post to logins and the shop far faster than a person; the rate
    limit tests (tests/kameng/test_rate_limits.py) switch the limits back on."""
    settings.RATELIMIT_ENABLE = False


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
def _cold_sale_cache():
    """Each test starts with an empty per-process sale cache: a test database
    rolled back reuses SKU ids and versions (SQLite), which a running shop never
    does (catalog.services.sale_cache)."""
    from catalog.services.sale_cache import forget_all
    from marketing.flash_sales import forget_sales

    forget_all()
    forget_sales()  # the flash sales' per-SKU cache, stamped the same way


@pytest.fixture(autouse=True)
def _modules_switched_on_afresh():
    """Each test reads the module switches from its own database: the cache of
    a test that switched a module off (and rolled back) is dropped."""
    from kameng.modules import forget_switches

    forget_switches()


@pytest.fixture(autouse=True)
def _buyer_figures_counted_afresh():
    """The home page's buyer figures are cached for a minute across requests
    (users.selectors); each test counts its own database's buyers."""
    from users.selectors import forget_buyer_figures

    forget_buyer_figures()
