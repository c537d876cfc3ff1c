"""Two-factor secrets encrypted at rest (issue 15, users.Authenticator): the
database holds a Fernet token, never the hex or base32 secret; codes made from
the secret the app scanned still verify; rotation re-encrypts; devices enrolled
before (django-otp's TOTPDevice) are moved over by users 0013 and keep working.

Marked real_two_factor: force_login leaves these sessions unverified."""

from __future__ import annotations

import importlib
import time
from base64 import b32decode, b32encode
from binascii import hexlify
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from kameng import crypto
from users import two_factor
from users.models import Authenticator

pytestmark = [pytest.mark.django_db, pytest.mark.real_two_factor]

migration = importlib.import_module("users.migrations.0013_totp_keys")


def code_from(secret_b32: str, *, step_offset: int = 0) -> str:
    """What an authenticator app shows for the secret it scanned (RFC 6238)."""
    padded = secret_b32 + "=" * (-len(secret_b32) % 8)
    totp = TOTP(b32decode(padded))
    totp.time = time.time() + step_offset * 30
    return f"{totp.token():06d}"


def raw_rows() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {Authenticator._meta.db_table}"  # noqa: S608 (our table name)
        )
        return [" ".join(str(value) for value in row) for row in cursor.fetchall()]


def session_request(user):
    request = RequestFactory().post("/admin/me/two-factor/")
    request.user = user
    request.session = {}
    return request


@pytest.fixture
def staff(role_user):
    return role_user("finance")


def test_the_database_row_holds_no_secret(staff):
    enrolment = two_factor.start_enrolment(user=staff)
    secret = enrolment.device.bin_key
    (row,) = raw_rows()
    assert hexlify(secret).decode() not in row.lower()
    assert b32encode(secret).decode().rstrip("=") not in row
    stored = Authenticator.objects.values_list("encrypted_key", flat=True).get()
    assert stored.startswith("gAAAA")  # a Fernet token
    assert crypto.decrypt(stored) == hexlify(secret).decode()
    assert not TOTPDevice.objects.exists()  # django-otp's plain table stays empty


def test_a_code_from_the_scanned_secret_confirms_and_then_verifies(staff):
    enrolment = two_factor.start_enrolment(user=staff)
    assert f"secret={enrolment.secret}" in enrolment.device.config_url
    codes = two_factor.confirm_enrolment(
        request=session_request(staff), user=staff, code=code_from(enrolment.secret)
    )
    assert len(codes) == two_factor.RECOVERY_CODE_COUNT
    # the next step's code logs in; the same code twice does not
    code = code_from(enrolment.secret, step_offset=1)
    assert two_factor.verify(request=session_request(staff), user=staff, code=code)
    with pytest.raises(two_factor.TwoFactorError) as refused:
        two_factor.verify(request=session_request(staff), user=staff, code=code)
    assert refused.value.reason == "wrong_code"


def test_a_wrong_code_is_refused(staff):
    enrolment = two_factor.start_enrolment(user=staff)
    right = code_from(enrolment.secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with pytest.raises(two_factor.TwoFactorError) as refused:
        two_factor.confirm_enrolment(
            request=session_request(staff), user=staff, code=wrong
        )
    assert refused.value.reason == "wrong_code"
    assert not two_factor.is_enabled(staff)


def test_rotation_reencrypts_and_the_old_key_can_go(staff, settings):
    enrolment = two_factor.start_enrolment(user=staff)
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    old_token = Authenticator.objects.get().encrypted_key
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    out = StringIO()
    call_command("rotate_card_key", stdout=out)
    assert "1 two-factor secrets" in out.getvalue()
    device = Authenticator.objects.get()
    assert device.encrypted_key != old_token
    assert device.key_version == crypto.current_key_version()
    assert two_factor.rotate_secrets() == 0  # nothing left to do

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is dropped
    two_factor.confirm_enrolment(
        request=session_request(staff), user=staff, code=code_from(enrolment.secret)
    )
    assert two_factor.is_enabled(staff)


def test_a_secret_no_key_opens_is_a_clear_error_not_a_crash(staff, settings):
    enrolment = two_factor.start_enrolment(user=staff)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(two_factor.TwoFactorError) as refused:
        two_factor.confirm_enrolment(
            request=session_request(staff),
            user=staff,
            code=code_from(enrolment.secret),
        )
    assert refused.value.reason == "undecryptable"


def test_devices_enrolled_before_are_moved_and_keep_their_codes(staff, role_user):
    """users 0013's data step, run on django-otp's rows as they were."""
    hex_key = "3132333435363738393031323334353637383930"  # RFC 6238's test secret
    old = TOTPDevice.objects.create(
        user=staff, name="authenticator", key=hex_key, confirmed=True, last_t=5
    )
    pending = role_user("support")
    TOTPDevice.objects.create(user=pending, name="authenticator", confirmed=False)

    migration.encrypt_existing(apps, None)

    assert not TOTPDevice.objects.exists()  # no plain key left behind
    device = two_factor.confirmed_device(staff)
    assert device.bin_key == bytes.fromhex(hex_key)
    assert device.last_t == 5 and device.created_at == old.created_at
    assert hex_key not in " ".join(raw_rows())
    assert Authenticator.objects.filter(user=pending, confirmed=False).exists()
    secret = b32encode(bytes.fromhex(hex_key)).decode()
    assert two_factor.verify(
        request=session_request(staff), user=staff, code=code_from(secret)
    )

    migration.decrypt_back(apps, None)  # and back again
    assert TOTPDevice.objects.get(user=staff).key == hex_key
    assert not Authenticator.objects.exists()
