"""Logins: Argon2 hashing (older hashes upgrade at login), Django's password
validators in Chinese in the shop and the back office, each person's own login
history, and staff sessions that expire sooner than a buyer's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone

from users.middleware import SEEN_KEY, STARTED_KEY
from users.models import LoginEvent, LoginMethod, User
from users.tracking import device_summary

pytestmark = pytest.mark.django_db

PASSWORD = "Right-pass-2468"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


# Argon2 --------------------------------------------------------------------------


def test_new_passwords_are_hashed_with_argon2():
    user = User.objects.create_user(username="new-hash", password=PASSWORD)
    assert user.password.startswith("argon2$argon2id$")


@pytest.mark.parametrize("url", ["/shop/login/", "/admin/login/"])
def test_an_older_pbkdf2_hash_becomes_argon2_at_login(url, role_user):
    if url == "/shop/login/":
        user = User.objects.create_user(username="old-hash")
    else:
        user = role_user("support", username="old-hash")
    User.objects.filter(pk=user.pk).update(
        password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )
    response = Client().post(url, {"username": "old-hash", "password": PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$")
    assert user.check_password(PASSWORD)


# Password validators in Chinese ----------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab3$x", "密码太短，至少需要 8 个字符。"),
        ("password123", "这个密码太常见了。"),
        ("83920174655", "密码只包含数字。"),
        ("new-buyer-42", "密码与用户名太相似。"),
    ],
)
def test_shop_signup_explains_a_weak_password_in_chinese_on_the_field(
    client, password, message
):
    response = client.post(
        "/shop/signup/",
        {
            "username": "new-buyer-42",
            "email": "nb@example.com",
            "password1": password,
            "password2": password,
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert message in form.errors["password2"]
    assert message in response.content.decode()
    assert not User.objects.filter(username="new-buyer-42").exists()


def test_shop_password_change_checks_the_rules_and_keeps_the_session(client):
    buyer = User.objects.create_user(username="pw-buyer", password=PASSWORD)
    client.force_login(buyer)
    weak = client.post(
        "/shop/account/password/",
        {"old_password": PASSWORD, "new_password1": "12345", "new_password2": "12345"},
    )
    body = weak.content.decode()
    assert "密码太短" in body and "密码只包含数字" in body
    done = client.post(
        "/shop/account/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "Another-pass-1357",
            "new_password2": "Another-pass-1357",
        },
        follow=True,
    )
    assert "您的密码已修改" in done.content.decode()
    assert client.get("/shop/orders/").status_code == 200  # still logged in
    buyer.refresh_from_db()
    assert buyer.check_password("Another-pass-1357")


def test_back_office_password_change_explains_the_rules_in_chinese(client, role_user):
    client.force_login(role_user("support"))
    response = client.post(
        "/admin/password_change/",
        {"old_password": "x-test-password", "new_password1": "a", "new_password2": "a"},
    )
    body = response.content.decode()
    assert "密码太短，至少需要 8 个字符。" in body
    assert "This password" not in body


# Login history ---------------------------------------------------------------------


def test_a_buyer_sees_their_own_logins_and_failures(client):
    buyer = User.objects.create_user(username="hist-buyer", password=PASSWORD)
    User.objects.create_user(username="someone-else", password=PASSWORD)
    stranger = Client(REMOTE_ADDR="203.0.113.77", HTTP_USER_AGENT=SAFARI_IPHONE)
    stranger.post("/shop/login/", {"username": "hist-buyer", "password": "wrong"})
    stranger.post("/shop/login/", {"username": "someone-else", "password": PASSWORD})
    mine = Client(REMOTE_ADDR="198.51.100.5", HTTP_USER_AGENT=CHROME_WINDOWS)
    mine.post("/shop/login/", {"username": "hist-buyer", "password": PASSWORD})

    page = mine.get("/shop/account/")
    rows = page.context["logins"]
    assert [(row.success, row.address, row.device) for row in rows] == [
        (True, "198.51.*.*", "Chrome · Windows"),
        (False, "203.0.*.*", "Safari · iPhone"),
    ]
    body = page.content.decode()
    assert "198.51.*.*" in body and "198.51.100.5" not in body
    assert "失败" in body and "成功" in body
    assert LoginEvent.objects.filter(user=buyer).count() == 2


def test_a_member_of_staff_sees_their_logins_on_their_account_page(role_user):
    user = role_user("support", username="hist-staff")
    user.set_password(PASSWORD)
    user.save()
    client = Client(REMOTE_ADDR="192.0.2.10", HTTP_USER_AGENT=CHROME_WINDOWS)
    client.post("/admin/login/", {"username": "hist-staff", "password": "nope"})
    client.post("/admin/login/", {"username": "hist-staff", "password": PASSWORD})
    page = client.get("/admin/me/")
    body = page.content.decode()
    rows = page.context["logins"]
    assert [(r.success, r.method) for r in rows] == [(True, "密码"), (False, "密码")]
    assert "192.0.*.*" in body and "Chrome · Windows" in body
    assert "192.0.2.10" not in body


@pytest.mark.parametrize(
    ("agent", "summary"),
    [
        (CHROME_WINDOWS, "Chrome · Windows"),
        (SAFARI_IPHONE, "Safari · iPhone"),
        (
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120 Mobile "
            "Safari/537.36 MicroMessenger/8.0",
            "WeChat · Android",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Firefox/128.0",
            "Firefox · macOS",
        ),
        ("", "未知设备"),
    ],
)
def test_device_summary(agent, summary):
    assert device_summary(agent) == summary


def test_a_failed_login_for_an_unknown_username_belongs_to_nobody(client):
    client.post("/shop/login/", {"username": "no-such-user", "password": "x"})
    event = LoginEvent.objects.get(username="no-such-user")
    assert event.user is None and not event.success
    assert event.method == LoginMethod.PASSWORD


# Staff session expiry --------------------------------------------------------------


def staff_client(role_user) -> Client:
    client = Client()
    client.force_login(role_user("operations"))
    return client


def age_session(client: Client, *, started_ago: timedelta, seen_ago: timedelta):
    now = timezone.now()
    session = client.session
    session[STARTED_KEY] = (now - started_ago).timestamp()
    session[SEEN_KEY] = (now - seen_ago).timestamp()
    session.save()


def test_a_staff_session_lasts_the_idle_limit_not_the_shops_two_weeks(
    role_user, settings
):
    client = staff_client(role_user)
    assert client.session.get_expiry_age() == settings.STAFF_SESSION_IDLE_MINUTES * 60
    buyer = Client()
    buyer.force_login(User.objects.create_user(username="long-buyer"))
    assert buyer.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert settings.SESSION_COOKIE_AGE == 14 * 24 * 3600


def test_an_idle_staff_session_is_logged_out(role_user, settings):
    client = staff_client(role_user)
    idle = timedelta(minutes=settings.STAFF_SESSION_IDLE_MINUTES)
    age_session(client, started_ago=idle * 2, seen_ago=idle - timedelta(minutes=1))
    assert client.get("/admin/").status_code == 200
    age_session(client, started_ago=idle * 2, seen_ago=idle + timedelta(minutes=1))
    response = client.get("/admin/orders/order/", follow=True)
    assert response.redirect_chain[0][0].startswith("/admin/login/?next=")
    assert "会话已过期，请重新登录。" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_active_staff_session_still_ends_at_its_absolute_lifetime(
    role_user, settings
):
    client = staff_client(role_user)
    lifetime = timedelta(hours=settings.STAFF_SESSION_MAX_HOURS)
    age_session(
        client, started_ago=lifetime + timedelta(minutes=1), seen_ago=timedelta(0)
    )
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_activity_keeps_a_staff_session_alive(role_user, settings):
    client = staff_client(role_user)
    idle = timedelta(minutes=settings.STAFF_SESSION_IDLE_MINUTES)
    age_session(client, started_ago=idle, seen_ago=idle - timedelta(minutes=2))
    assert client.get("/admin/").status_code == 200
    assert timezone.now().timestamp() - client.session[SEEN_KEY] < 60


def test_a_buyer_session_is_not_cut_by_the_staff_rule(client):
    client.force_login(User.objects.create_user(username="idle-buyer"))
    age_session(client, started_ago=timedelta(days=3), seen_ago=timedelta(days=3))
    assert client.get("/shop/orders/").status_code == 200
