"""Logins: lockout after repeated failures, keyed on the real client address;
the shop refuses staff accounts.

django-axes is off in the rest of the suite (Client.login has no request); here it
is on, as in production.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client

from users.models import User

PASSWORD = "Right-pass-2468"
LIMIT = 3
LOGINS = {"admin": "/admin/login/", "shop": "/shop/login/"}
PROXY = "10.0.0.5"


@pytest.fixture(autouse=True)
def _lockout_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.TRUSTED_PROXIES = [PROXY]


@pytest.fixture
def finance(role_user):
    user = role_user("finance", username="finance-lock")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def buyer(db):
    return User.objects.create_user(username="buyer-lock", password=PASSWORD)


def attempt(client, url, username, password, **headers):
    return client.post(
        url, {"username": username, "password": password}, headers=headers
    )


def fail(client, url, username, times, **headers):
    for _ in range(times):
        response = attempt(client, url, username, "wrong-password", **headers)
        assert response.status_code == 200  # the form again, with its error
    return response


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize(("login", "who"), [("admin", "finance"), ("shop", "buyer")])
def test_the_right_password_is_refused_after_repeated_failures(request, login, who):
    user = request.getfixturevalue(who)
    client = Client()
    fail(client, LOGINS[login], user.username, LIMIT - 1)
    response = attempt(client, LOGINS[login], user.username, "wrong-password")
    assert response.status_code == 429
    response = attempt(client, LOGINS[login], user.username, PASSWORD)
    assert response.status_code == 429
    assert not logged_in(client)
    body = response.content.decode()
    assert "登录失败次数过多" in body
    assert "15" in body  # minutes


def test_failed_logins_are_recorded(finance):
    client = Client()
    fail(client, LOGINS["admin"], finance.username, 2)
    attempt_row = AccessAttempt.objects.get(username=finance.username)
    assert attempt_row.failures_since_start == 2
    assert attempt_row.ip_address == "127.0.0.1"


def test_fewer_failures_than_the_limit_still_log_in(finance):
    client = Client()
    fail(client, LOGINS["admin"], finance.username, LIMIT - 1)
    response = attempt(client, LOGINS["admin"], finance.username, PASSWORD)
    assert response.status_code == 302
    assert logged_in(client)


def test_behind_the_trusted_proxy_the_lockout_is_per_buyer(finance):
    """Two clients behind the proxy: the one failing is locked, not the other."""
    attacker = Client(REMOTE_ADDR=PROXY)
    fail(
        attacker,
        LOGINS["admin"],
        finance.username,
        LIMIT - 1,
        X_Forwarded_For="203.0.113.9",
    )
    response = attempt(
        attacker,
        LOGINS["admin"],
        finance.username,
        "wrong-password",
        X_Forwarded_For="203.0.113.9",
    )
    assert response.status_code == 429
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"

    colleague = Client(REMOTE_ADDR=PROXY)
    response = attempt(
        colleague,
        LOGINS["admin"],
        finance.username,
        PASSWORD,
        X_Forwarded_For="198.51.100.7",
    )
    assert response.status_code == 302
    assert logged_in(colleague)


def test_a_forged_forwarded_for_does_not_escape_the_lockout(finance):
    """From an address that is no trusted proxy, X-Forwarded-For is the
    client's own word: changing it every time changes nothing."""
    client = Client(REMOTE_ADDR="192.0.2.44")
    for number in range(LIMIT):
        response = attempt(
            client,
            LOGINS["admin"],
            finance.username,
            "wrong-password",
            X_Forwarded_For=f"203.0.113.{number}",
        )
    assert response.status_code == 429
    response = attempt(
        client,
        LOGINS["admin"],
        finance.username,
        PASSWORD,
        X_Forwarded_For="203.0.113.200",
    )
    assert response.status_code == 429
    assert not logged_in(client)
    assert AccessAttempt.objects.get().ip_address == "192.0.2.44"


def test_the_shop_login_refuses_a_staff_account(finance):
    client = Client()
    response = attempt(client, LOGINS["shop"], finance.username, PASSWORD)
    assert response.status_code == 200
    assert "这是员工账号" in response.content.decode()
    assert not logged_in(client)
    assert client.get("/admin/").status_code == 302  # to the back office's login


def test_the_shop_login_lets_a_buyer_in(buyer):
    client = Client()
    response = attempt(client, LOGINS["shop"], buyer.username, PASSWORD)
    assert response.status_code == 302
    assert logged_in(client)
