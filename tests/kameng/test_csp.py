"""The Content-Security-Policy header (issue 15): the strict policy on the shop and
every other page, the back office's two additions only under /admin/, framing
refused everywhere, our templates free of inline script and style, and the
deploy check that notices a missing or weakened policy.

The browser side (pages really render without a refusal) is
tests/e2e/test_csp.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.test import Client

from kameng.admin_theme import STYLESHEET, theme_css
from tests.kameng.test_deploy_settings import production  # noqa: F401 - fixture
from tests.kameng.test_settings import run

ROOT = Path(__file__).resolve().parents[2]

SHOP_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy(response) -> dict[str, str]:
    """The header as {directive: sources}."""
    return parse(response["Content-Security-Policy"])


def parse(header: str) -> dict[str, str]:
    directives = [part.strip().split(" ", 1) for part in header.split(";")]
    return {name: sources for name, sources in directives}


@pytest.mark.parametrize("path", ["/shop/", "/shop/login/", "/shop/lookup/"])
def test_shop_pages_send_the_strict_policy(db, path):
    response = Client().get(path)
    assert response.status_code == 200
    assert policy(response) == SHOP_POLICY
    assert response["X-Frame-Options"] == "DENY"


def test_the_payment_and_error_pages_send_it_too(db):
    assert policy(Client().get("/shop/no-such-page/")) == SHOP_POLICY
    assert policy(Client().get("/pay/sandbox/00000000000000/")) == SHOP_POLICY


@pytest.mark.parametrize("path", ["/admin/login/", "/admin/", "/admin/orders/order/"])
def test_the_back_office_adds_only_eval_and_style_attributes(path, role_user, client):
    client.force_login(role_user("superadmin"))
    response = client.get(path, follow=path == "/admin/login/")
    assert response.status_code == 200
    assert policy(response) == {
        **SHOP_POLICY,
        "script-src": "'self' 'unsafe-eval'",
        "style-src-attr": "'unsafe-inline'",
    }
    assert response["X-Frame-Options"] == "DENY"


def test_an_anonymous_visit_to_the_back_office_is_refused_framing_too(db):
    response = Client().get("/admin/")
    assert response.status_code == 302
    assert policy(response)["frame-ancestors"] == "'none'"


def test_the_back_office_pages_carry_no_inline_style_element(role_user, client):
    """unfold's theme colours come from a stylesheet (kameng/admin_theme.py)."""
    client.force_login(role_user("superadmin"))
    html = client.get("/admin/").content.decode()
    assert "<style" not in html
    assert "kameng/admin-theme.css" in html
    assert "kameng/back-office.js" in html


def test_the_theme_stylesheet_matches_the_palette():
    assert STYLESHEET.read_text() == theme_css(), (
        "Rewrite it: .venv/bin/python manage.py admin_theme_css > "
        "static/kameng/admin-theme.css"
    )
    assert "--color-primary-600: oklch(57.7% .245 27.325);" in theme_css()


# Our templates: scripts only from files (data as JSON script blocks), styles only
# from stylesheets. report_pdf.html is drawn by WeasyPrint, never a browser page.
NOT_BROWSER_PAGES = {"templates/analytics/report_pdf.html"}
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I
)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", re.I)


def our_templates():
    for path in sorted((ROOT / "templates").rglob("*.html")):
        relative = path.relative_to(ROOT).as_posix()
        if relative not in NOT_BROWSER_PAGES:
            yield relative, path.read_text()


def test_our_templates_have_no_inline_script_or_style():
    offending = [
        f"{name}: {match.group(0)}"
        for name, text in our_templates()
        for pattern in (INLINE_SCRIPT, INLINE_STYLE)
        for match in pattern.finditer(text)
    ]
    assert not offending, "\n".join(offending)


def test_the_template_check_would_notice_them():
    for snippet in (
        "<script>alert(1)</script>",
        '<div style="color: red">',
        "<style>p {}</style>",
        '<a onclick="go()">',
    ):
        assert INLINE_SCRIPT.search(snippet) or INLINE_STYLE.search(snippet), snippet
    for allowed in (
        '<script src="/static/x.js" defer></script>',
        '<script type="application/json" id="chart">{}</script>',
        '<div data-chart-height="320">',
    ):
        assert not (INLINE_SCRIPT.search(allowed) or INLINE_STYLE.search(allowed))


def test_a_missing_or_weakened_policy_fails_the_deploy_check(settings):
    assert not [
        m for m in run_checks(include_deployment_checks=True) if m.id == "kameng.E004"
    ]
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "kameng.csp.PolicyByAreaMiddleware"
    ]
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {
            **settings.CONTENT_SECURITY_POLICY["DIRECTIVES"],
            "script-src": ["'self'", "'unsafe-inline'"],
        }
    }
    settings.X_FRAME_OPTIONS = "SAMEORIGIN"
    errors = [
        m for m in run_checks(include_deployment_checks=True) if m.id == "kameng.E004"
    ]
    assert len(errors) == 1
    for named in ("MIDDLEWARE", "script-src", "X_FRAME_OPTIONS"):
        assert named in errors[0].msg


def test_production_sends_the_policy_and_lets_forms_reach_the_payment_gateway(
    production,  # noqa: F811 - the fixture
):
    code = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/i18n/setlang/', secure=True, "
        "HTTP_HOST='shop.example.com'); "
        "print(r.status_code); print(r['Content-Security-Policy'])"
    )
    plain = run(code, **production)
    status, header = plain.stdout.splitlines()
    assert status in {"204", "302"}, plain.stderr
    assert parse(header) == SHOP_POLICY
    with_gateway = run(
        code,
        **production,
        EPAY_URL="https://pay.example.net/epay/",
        EPAY_PID="1001",
        EPAY_KEY="k" * 32,
    )
    header = with_gateway.stdout.splitlines()[-1]
    assert parse(header)["form-action"] == "'self' https://pay.example.net", (
        with_gateway.stderr
    )
