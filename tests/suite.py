"""What every test runs with, in one place: the settings tests/conftest.py's
autouse fixtures give each test, and the per-process caches each test starts
without. A class-wide seed (tests/kameng/conftest.py, `shared_rows`) writes
under the same, since class-scoped fixtures run before the autouse ones."""

from __future__ import annotations

from django.conf import settings

from tests.hashers import quick_hashers


def suite_settings() -> dict:
    return {
        # Pages render without a collectstatic manifest, whatever DEBUG says.
        # And WhiteNoise looks a static file up when asked (autorefresh)
        # instead of scanning staticfiles/ whenever a test client loads the
        # middleware: once a bench's collectstatic has filled it, that scan
        # cost 0.2-0.3 s per client, and a collectstatic running beside it
        # made the scan fail (FileNotFoundError).
        "WHITENOISE_AUTOREFRESH": True,
        "STORAGES": {
            **settings.STORAGES,
            "staticfiles": {
                "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
            },
        },
        # The sandbox payment gateway and supplier are off by default outside
        # DEBUG (anyone could pay with the one; the other fakes deliveries);
        # the tests use them, as the demo does.
        "PAYMENT_CHANNELS": {
            **settings.PAYMENT_CHANNELS,
            "sandbox": {**settings.PAYMENT_CHANNELS["sandbox"], "enabled": True},
        },
        "SANDBOX_SUPPLIER_ENABLED": True,
        # Argon2 at its cheapest (tests/hashers.py): a user a test creates
        # costs about a millisecond instead of 0.4 s.
        "PASSWORD_HASHERS": quick_hashers(settings.PASSWORD_HASHERS),
        # django-axes refuses authenticate() calls without a request, which is
        # how Client.login() and services' tests log in; the lockout tests
        # (tests/kameng/test_login_lockout.py) switch it back on.
        "AXES_ENABLED": False,
        # Tests post to logins and the shop far faster than a person; the rate
        # limit tests (tests/kameng/test_rate_limits.py) switch them back on.
        "RATELIMIT_ENABLE": False,
    }


def forget_process_caches() -> None:
    """Empty the per-process caches a test database's rollback would leave
    stale: the sale cache (a rolled-back database reuses SKU ids and versions
    on SQLite, which a running shop never does) and the flash sales' per-SKU
    cache stamped the same way; the module switches (a test that switched a
    module off and rolled back); the home page's buyer figures (cached for a
    minute across requests); the configuration kept per process
    (kameng.process_cache: levels, points rules, campaigns)."""
    from catalog.services.sale_cache import forget_all
    from kameng import process_cache
    from kameng.modules import forget_switches
    from marketing.flash_sales import forget_sales
    from users.selectors import forget_buyer_figures

    forget_all()
    forget_sales()
    forget_switches()
    forget_buyer_figures()
    process_cache.forget_all()
