"""Two-factor authentication (users.two_factor): required for the super admin
and finance, optional for other staff; enrolment with a QR code, the verify
step after the password, single-use recovery codes kept hashed, throttling.

Marked real_two_factor: force_login leaves these sessions unverified.
"""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken

from tests.otp import authenticator, mark_verified, next_code
from users import two_factor
from users.models import Authenticator, LoginEvent, LoginMethod, User

pytestmark = [pytest.mark.django_db, pytest.mark.real_two_factor]

PASSWORD = "x-test-password"
SETUP = "/admin/me/two-factor/"
VERIFY = "/admin/me/two-factor/verify/"


def log_in(client: Client, user) -> None:
    """Through the back office's login form, as a person does."""
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": user.username, "password": PASSWORD, "next": "/admin/"},
    )
    assert response.status_code == 302, response.content.decode()[:500]


def recovery_codes_on(response) -> list[str]:
    return re.findall(r"<li>([2-9A-Z]{5}-[2-9A-Z]{5})</li>", response.content.decode())


def enrol(client: Client, user) -> list[str]:
    client.get(SETUP)
    device = Authenticator.objects.get(user=user, confirmed=False)
    response = client.post(SETUP, {"code": next_code(device), "next": "/admin/"})
    assert response.status_code == 200
    return recovery_codes_on(response)


@pytest.mark.parametrize("role", ["superadmin", "finance"])
def test_required_roles_reach_only_enrolment_until_verified(client, role_user, role):
    user = role_user(role)
    log_in(client, user)
    for page in ("/admin/", "/admin/me/", "/admin/orders/order/"):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{SETUP}?next=")
    setup = client.get(SETUP)
    assert setup.status_code == 200
    body = setup.content.decode()
    assert (
        "<svg" in body and "<script" not in body.split("<svg", 1)[1].split("</svg>")[0]
    )
    assert "设置完成后才能进入后台" in body


@pytest.mark.parametrize("role", ["operations", "support", "marketing"])
def test_other_staff_go_straight_in(client, role_user, role):
    log_in(client, role_user(role))
    assert client.get("/admin/").status_code == 200


def test_enrolment_shows_ten_recovery_codes_once_and_stores_them_hashed(
    client, role_user
):
    user = role_user("finance")
    log_in(client, user)
    codes = enrol(client, user)
    assert len(codes) == two_factor.RECOVERY_CODE_COUNT == len(set(codes))
    stored = set(
        StaticToken.objects.filter(device__user=user).values_list("token", flat=True)
    )
    assert len(stored) == len(codes)
    for code in codes:
        assert code not in stored
        assert code.replace("-", "") not in stored
    # This session is verified now.
    assert client.get("/admin/").status_code == 200
    # The page that showed them is gone: the setup page now leads to the account.
    assert client.get(SETUP)["Location"] == "/admin/me/"


def test_a_wrong_first_code_does_not_switch_it_on(client, role_user):
    user = role_user("superadmin")
    log_in(client, user)
    client.get(SETUP)
    response = client.post(SETUP, {"code": "000000"})
    assert "验证码不正确" in response.content.decode()
    assert not two_factor.is_enabled(user)
    assert client.get("/admin/").status_code == 302


def test_the_qr_code_stays_the_same_until_confirmed(client, role_user):
    user = role_user("finance")
    log_in(client, user)
    first = client.get(SETUP).content
    second = client.get(SETUP).content
    secret = Authenticator.objects.get(user=user).config_url.split("secret=")[1][:16]
    assert secret in first.decode() and secret in second.decode()
    assert Authenticator.objects.filter(user=user).count() == 1


def test_the_code_is_asked_after_the_password_at_every_login(
    client, role_user, settings
):
    # A wait no loaded machine outlasts between two requests (the default
    # first wait, 1 s, sometimes passed before the next code arrived).
    settings.OTP_TOTP_THROTTLE_FACTOR = 600
    user = role_user("finance")
    device = authenticator(user)
    log_in(client, user)
    response = client.get("/admin/orders/order/")
    assert response["Location"] == f"{VERIFY}?next=%2Fadmin%2Forders%2Forder%2F"
    wrong = client.post(VERIFY, {"code": "000000", "next": "/admin/orders/order/"})
    assert "验证码不正确" in wrong.content.decode()
    assert client.get("/admin/").status_code == 302
    # django-otp doubles the wait after each wrong code: even the right one waits.
    throttled = client.post(VERIFY, {"code": next_code(device)})
    assert "错误次数过多" in throttled.content.decode()
    Authenticator.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    right = client.post(
        VERIFY, {"code": next_code(device), "next": "/admin/orders/order/"}
    )
    assert right["Location"] == "/admin/orders/order/"
    assert client.get("/admin/").status_code == 200
    steps = list(
        LoginEvent.objects.filter(user=user)
        .order_by("id")
        .values_list("method", "success")
    )
    assert steps == [
        (LoginMethod.PASSWORD, True),
        (LoginMethod.TOTP, False),
        (LoginMethod.TOTP, False),
        (LoginMethod.TOTP, True),
    ]


@pytest.mark.parametrize("target", ["²", "admin:index", "https://evil.example/"])
def test_a_next_that_is_not_a_path_here_leads_to_the_back_office_home(
    client, role_user, target
):
    user = role_user("finance")
    device = authenticator(user)
    log_in(client, user)
    page = client.get(VERIFY, {"next": target})
    assert page.status_code == 200
    right = client.post(VERIFY, {"code": next_code(device), "next": target})
    assert right["Location"] == "/admin/"


def test_a_code_is_not_accepted_twice(client, role_user):
    user = role_user("finance")
    device = authenticator(user)
    log_in(client, user)
    code = next_code(device)
    assert client.post(VERIFY, {"code": code})["Location"] == "/admin/"
    other = Client()
    log_in(other, user)
    assert "验证码不正确" in other.post(VERIFY, {"code": code}).content.decode()


def test_a_recovery_code_logs_in_once(client, role_user):
    user = role_user("superadmin")
    log_in(client, user)
    codes = enrol(client, user)
    again = Client()
    log_in(again, user)
    used = again.post(VERIFY, {"code": codes[0].lower(), "next": "/admin/"})
    assert used["Location"] == "/admin/"
    assert again.get("/admin/").status_code == 200
    assert two_factor.recovery_codes_left(user) == len(codes) - 1
    third = Client()
    log_in(third, user)
    refused = third.post(VERIFY, {"code": codes[0]})
    assert "验证码不正确" in refused.content.decode()
    assert third.get("/admin/").status_code == 302
    assert (
        LoginEvent.objects.filter(
            user=user, method=LoginMethod.RECOVERY, success=True
        ).count()
        == 1
    )


def test_new_recovery_codes_replace_the_old_ones(client, role_user):
    user = role_user("finance")
    log_in(client, user)
    old = enrol(client, user)
    response = client.post("/admin/me/two-factor/recovery-codes/")
    new = recovery_codes_on(response)
    assert len(new) == two_factor.RECOVERY_CODE_COUNT and not set(new) & set(old)
    other = Client()
    log_in(other, user)
    assert "验证码不正确" in other.post(VERIFY, {"code": old[1]}).content.decode()
    assert other.post(VERIFY, {"code": new[1]})["Location"] == "/admin/"


def test_optional_staff_switch_it_on_and_off_from_their_account(client, role_user):
    user = role_user("support")
    log_in(client, user)
    page = client.get("/admin/me/").content.decode()
    assert "未开启" in page and "开启两步验证" in page
    enrol(client, user)
    assert two_factor.is_enabled(user)
    # From now on the code is asked after the password.
    other = Client()
    log_in(other, user)
    assert other.get("/admin/")["Location"].startswith(VERIFY)
    # Switching it off needs a current code.
    client.post("/admin/me/two-factor/off/", {"code": "000000"})
    assert two_factor.is_enabled(user)
    Authenticator.objects.filter(user=user).update(throttling_failure_timestamp=None)
    device = two_factor.confirmed_device(user)
    client.post("/admin/me/two-factor/off/", {"code": next_code(device)})
    assert not two_factor.is_enabled(user)
    assert not StaticToken.objects.filter(device__user=user).exists()
    third = Client()
    log_in(third, user)
    assert third.get("/admin/").status_code == 200


def test_required_roles_cannot_switch_it_off(client, role_user):
    user = role_user("finance")
    log_in(client, user)
    enrol(client, user)
    assert "无法关闭" in client.get("/admin/me/").content.decode()
    device = two_factor.confirmed_device(user)
    response = client.post(
        "/admin/me/two-factor/off/", {"code": next_code(device)}, follow=True
    )
    assert "您的角色必须使用两步验证" in response.content.decode()
    assert two_factor.is_enabled(user)


def test_an_unverified_session_can_still_log_out(client, role_user):
    user = role_user("superadmin")
    log_in(client, user)
    response = client.post("/admin/logout/")
    assert response.status_code in (200, 302)
    assert "_auth_user_id" not in client.session


def test_reset_two_factor_makes_them_enrol_again(client, role_user):
    user = role_user("finance")
    authenticator(user)
    call_command("reset_two_factor", user.username, stdout=StringIO())
    assert not two_factor.is_enabled(user)
    log_in(client, user)
    assert client.get("/admin/")["Location"].startswith(SETUP)


def test_buyers_and_the_shop_are_untouched(client):
    buyer = User.objects.create_user(username="tf-buyer", password=PASSWORD)
    client.post("/shop/login/", {"username": buyer.username, "password": PASSWORD})
    assert client.get("/shop/orders/").status_code == 200


def test_the_device_admin_is_not_offered(client, role_user):
    """django-otp's own admin would list the secret keys."""
    user = role_user("superadmin")
    client.force_login(user)
    mark_verified(client, user)
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
