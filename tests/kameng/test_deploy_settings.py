"""Production settings pass Django's deploy checks and Kameng's own: secure
cookies, HSTS, HTTPS redirect, and no sandbox switched on with DEBUG off."""

from __future__ import annotations

import secrets

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks
from django.test import Client

from tests.kameng.test_settings import run


@pytest.fixture
def production(tmp_path):
    """The environment of a production deployment: DEBUG off, its own secrets."""
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "CARD_HASH_KEY": secrets.token_urlsafe(32),
        "KAMENG_VAR_DIR": str(tmp_path),
        "ALLOWED_HOSTS": "shop.example.com",
    }


def deploy_check(**env):
    return run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env)


def test_production_settings_pass_the_deploy_check(production):
    result = deploy_check(**production)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_cookies_are_secure_and_hsts_is_on(production):
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS >= 31536000, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "s.SANDBOX_SUPPLIER_ENABLED, s.PAYMENT_CHANNELS['sandbox']['enabled'])"
    )
    result = run(code, **production)
    assert result.stdout.split() == ["True"] * 5 + ["False"] * 2, result.stderr


@pytest.mark.parametrize(
    "switch", ["SANDBOX_SUPPLIER_ENABLED", "PAYMENT_SANDBOX_ENABLED"]
)
def test_a_sandbox_on_without_debug_fails_the_deploy_check(production, switch):
    result = deploy_check(**production, **{switch: "true"})
    assert result.returncode == 1
    assert "kameng.E003" in result.stderr
    assert switch in result.stderr


def test_a_staging_shop_may_acknowledge_its_sandbox(production):
    result = deploy_check(
        **production,
        SANDBOX_SUPPLIER_ENABLED="true",
        SANDBOX_IN_PRODUCTION_ACKNOWLEDGED="true",
    )
    assert result.returncode == 0, result.stderr


def test_the_sandbox_supplier_is_off_when_its_setting_is_missing(db, settings):
    del settings.SANDBOX_SUPPLIER_ENABLED
    response = Client().post("/sandbox/supplier/orders/", b"{}", "application/json")
    assert response.status_code == 404


def test_a_malformed_trusted_proxy_is_a_startup_error(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "not-an-address"]
    errors = [m for m in run_checks() if m.id == "kameng.E002"]
    assert len(errors) == 1
    assert "not-an-address" in errors[0].msg
