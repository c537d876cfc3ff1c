"""Two-factor in tests: the code an authenticator app would show, and a test
client's staff session marked as having passed the second step."""

from __future__ import annotations

import time

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP

from users import two_factor
from users.models import Authenticator


def next_code(device: Authenticator) -> str:
    """The code of the current time step, or of the next one when this step's
    code was already used (a device accepts one step ahead, never a step twice)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if device.last_t >= totp.t():
        totp.time += device.step * (device.last_t + 1 - totp.t())
    return f"{totp.token():0{device.digits}d}"


def authenticator(user) -> Authenticator:
    """The user's confirmed authenticator, created (as enrolment would) if none."""
    device = two_factor.confirmed_device(user)
    if device is None:
        device = Authenticator.objects.create(
            user=user, name=two_factor.DEVICE_NAME, confirmed=True
        )
    return device


def mark_verified(client, user) -> None:
    """The session of `client` (logged in as `user`) passed the second step, as
    django_otp.login would have recorded it."""
    if not (user.is_staff and two_factor.needs_verification(user)):
        return
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = authenticator(user).persistent_id
    session.save()
