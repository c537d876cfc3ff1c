"""Two-factor authentication for staff: TOTP (an authenticator app) with
single-use recovery codes (django-otp, otp_totp and otp_static).

Who needs it: the super admin and finance (settings.TWO_FACTOR_REQUIRED_ROLES)
always; any other member of staff once they switch it on. A staff session that
needs it and is not verified reaches only enrolment and verification
(users.middleware.TwoFactorMiddleware).

A member of staff has at most one TOTP device, a `users.models.Authenticator`
(its secret encrypted at rest under FIELD_ENCRYPTION_KEY, re-encrypted by
`rotate_secrets` in `manage.py rotate_card_key`; django-otp's TOTPDevice, which
keeps it in plain hex, is no longer used). Enrolment creates it unconfirmed,
shows its key as a QR code, and confirms it with a first code; confirming also
issues the recovery codes. Recovery codes are stored as a keyed hash
(`recovery_code_hash`): a database dump alone reveals none. They are checked
here, never through StaticDevice.verify_token (which compares plain text). Wrong
codes are throttled by the device (django-otp doubles the wait after each
failure) and counted by the rate limit on the verify page.
"""

from __future__ import annotations

import logging
import secrets
from base64 import b32encode
from dataclasses import dataclass
from xml.etree import ElementTree

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from kameng import crypto
from kameng.exceptions import DomainError
from users.models import Authenticator, User
from users.roles import ROLE_BY_CODE

RECOVERY_CODE_COUNT = 10
# No 0/O, 1/I/L: the codes are read off paper and typed.
RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECOVERY_GROUP = 5  # characters per group: ABCDE-FGHJK (about 49 bits)
DEVICE_NAME = "authenticator"
QR_PIXELS = 220  # on screen; the viewBox scales the modules
RECOVERY_HASH_SALT = "kameng.two_factor.recovery_code"

logger = logging.getLogger(__name__)


class TwoFactorError(DomainError):
    code = "two_factor"

    def __init__(self, *, reason: str, message: str):
        super().__init__(message, reason=reason)
        self.reason = reason


@dataclass(frozen=True)
class Enrolment:
    device: Authenticator
    secret: str  # the key in base32, for typing into an app by hand
    qr_svg: str  # the otpauth:// URL as an SVG QR code (no script, no style)


def required_group_names() -> set[str]:
    return {
        ROLE_BY_CODE[code].group_name for code in settings.TWO_FACTOR_REQUIRED_ROLES
    }


def is_required(user: User) -> bool:
    """The super admin and the roles in TWO_FACTOR_REQUIRED_ROLES must use it."""
    if not user.is_staff:
        return False
    if user.is_superuser and "superadmin" in settings.TWO_FACTOR_REQUIRED_ROLES:
        return True
    return user.groups.filter(name__in=required_group_names()).exists()


def confirmed_device(user: User) -> Authenticator | None:
    return Authenticator.objects.filter(user=user, confirmed=True).first()


def is_enabled(user: User) -> bool:
    return Authenticator.objects.filter(user=user, confirmed=True).exists()


def needs_verification(user: User) -> bool:
    """A staff session of this user must pass the second step (or enrol)."""
    return user.is_staff and (is_enabled(user) or is_required(user))


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# Enrolment ------------------------------------------------------------------------


def qr_svg(text: str, *, pixels: int = QR_PIXELS) -> str:
    """An SVG QR code of `text`, drawn `pixels` wide (paths only)."""
    image = qrcode.make(
        text, image_factory=qrcode.image.svg.SvgPathImage, border=2
    ).get_image()
    image.set("width", str(pixels))
    image.set("height", str(pixels))
    return ElementTree.tostring(image, encoding="unicode")


def start_enrolment(*, user: User) -> Enrolment:
    """The unconfirmed device to scan (the same one until confirmed, so a
    reload does not invalidate what the app already scanned)."""
    if is_enabled(user):
        raise TwoFactorError(
            reason="already_enabled",
            message=_("Two-factor authentication is already on."),
        )
    device = Authenticator.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = Authenticator.objects.create(
            user=user, name=DEVICE_NAME, confirmed=False
        )
    secret = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return Enrolment(device=device, secret=secret, qr_svg=qr_svg(device.config_url))


@transaction.atomic
def confirm_enrolment(*, request, user: User, code: str) -> list[str]:
    """Confirm the device with its first code, issue recovery codes (returned
    in plain text this once) and mark this session verified."""
    device = (
        Authenticator.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .first()
    )
    if device is None:
        raise TwoFactorError(
            reason="no_enrolment", message=_("Start again: scan the new QR code first.")
        )
    check_allowed(device)
    if not check_code(device, code):
        raise TwoFactorError(
            reason="wrong_code",
            message=_(
                "That code is not right. Check the time on your phone and try again."
            ),
        )
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = issue_recovery_codes(user=user)
    otp_login(request, device)
    return codes


def issue_recovery_codes(*, user: User) -> list[str]:
    """A fresh set of recovery codes; the old ones stop working."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, defaults={"name": "recovery codes", "confirmed": True}
    )
    device.token_set.all().delete()
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=recovery_code_hash(code)) for code in codes
    )
    return codes


def new_recovery_code() -> str:
    chars = "".join(
        secrets.choice(RECOVERY_ALPHABET) for _ in range(2 * RECOVERY_GROUP)
    )
    return f"{chars[:RECOVERY_GROUP]}-{chars[RECOVERY_GROUP:]}"


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def recovery_code_hash(code: str) -> str:
    """Keyed (SECRET_KEY) and fitting StaticToken.token's 16 characters."""
    return salted_hmac(
        RECOVERY_HASH_SALT, normalise_recovery_code(code), algorithm="sha256"
    ).hexdigest()[:16]


def normalise_totp(code: str) -> str:
    return "".join(code.split())


# The second step ------------------------------------------------------------------


def check_allowed(device) -> None:
    allowed, data = device.verify_is_allowed()
    if not allowed:
        wait = (data or {}).get("locked_until")
        seconds = (
            max(1, int((wait - timezone.now()).total_seconds()) + 1) if wait else 60
        )
        raise TwoFactorError(
            reason="throttled",
            message=_("Too many wrong codes. Wait %(seconds)s seconds and try again.")
            % {"seconds": seconds},
        )


def check_code(device: Authenticator, code: str) -> bool:
    """The authenticator's code, checked (and used up) by the device. A secret
    no configured key opens (FIELD_ENCRYPTION_KEY changed without rotating)
    is an error for the super admin to see, not a wrong code."""
    try:
        return device.verify_token(normalise_totp(code))
    except crypto.InvalidToken as exc:
        logger.error(
            "two-factor secret of %s cannot be decrypted with FIELD_ENCRYPTION_KEY",
            device.user_id,
        )
        raise TwoFactorError(
            reason="undecryptable",
            message=_(
                "Your authenticator cannot be checked now. Ask the super admin "
                "for help (a recovery code still works)."
            ),
        ) from exc


def looks_like_recovery_code(code: str) -> bool:
    return any(ch.isalpha() for ch in code) or "-" in code


def verify(*, request, user: User, code: str) -> str:
    """Check an authenticator code, or a recovery code (used up by this), and
    mark the session verified. Returns "totp" or "recovery"; raises
    TwoFactorError on a wrong code or while throttled."""
    device = confirmed_device(user)
    if device is None:
        raise TwoFactorError(
            reason="not_enabled",
            message=_("Two-factor authentication is not set up yet."),
        )
    if looks_like_recovery_code(code):
        return verify_recovery_code(request=request, user=user, code=code)
    check_allowed(device)
    if not check_code(device, code):
        raise TwoFactorError(reason="wrong_code", message=_("That code is not right."))
    otp_login(request, device)
    return "totp"


@transaction.atomic
def verify_recovery_code(*, request, user: User, code: str) -> str:
    device = StaticDevice.objects.select_for_update().filter(user=user).first()
    if device is None:
        raise TwoFactorError(reason="wrong_code", message=_("That code is not right."))
    check_allowed(device)
    token = device.token_set.filter(token=recovery_code_hash(code)).first()
    if token is None:
        device.throttle_increment()
        raise TwoFactorError(reason="wrong_code", message=_("That code is not right."))
    token.delete()
    device.throttle_reset(commit=False)
    device.set_last_used_timestamp(commit=False)
    device.save()
    otp_login(request, device)
    return "recovery"


# Switching off --------------------------------------------------------------------


@transaction.atomic
def disable(*, user: User, code: str) -> None:
    """Switch two-factor off (only where it is optional), proven by a current
    code or a recovery code."""
    if is_required(user):
        raise TwoFactorError(
            reason="required",
            message=_("Your role must use two-factor authentication."),
        )
    device = confirmed_device(user)
    if device is None:
        raise TwoFactorError(
            reason="not_enabled",
            message=_("Two-factor authentication is not set up yet."),
        )
    check_allowed(device)
    if looks_like_recovery_code(code):
        static = StaticDevice.objects.filter(user=user).first()
        ok = (
            static is not None
            and static.token_set.filter(token=recovery_code_hash(code)).exists()
        )
        if not ok:
            device.throttle_increment()
    else:
        ok = check_code(device, code)
    if not ok:
        raise TwoFactorError(reason="wrong_code", message=_("That code is not right."))
    reset(user=user)


def reset(*, user: User) -> None:
    """Remove every device and recovery code (lost phone; `reset_two_factor`)."""
    Authenticator.objects.filter(user=user).delete()
    TOTPDevice.objects.filter(user=user).delete()  # none since users 0013
    StaticDevice.objects.filter(user=user).delete()


# Keys ------------------------------------------------------------------------------


def rotate_secrets() -> int:
    """Re-encrypt every authenticator's secret still under an older key of
    FIELD_ENCRYPTION_KEY (manage.py rotate_card_key); how many were."""
    current = crypto.current_key_version()
    rotated = 0
    for device in Authenticator.objects.exclude(key_version=current).only(
        "pk", "encrypted_key"
    ):
        Authenticator.objects.filter(pk=device.pk).update(
            encrypted_key=crypto.rotate(device.encrypted_key), key_version=current
        )
        rotated += 1
    return rotated
