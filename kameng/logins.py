"""Logins: the lockout page (django-axes) and the shop's login form.

Failed logins on /admin/login/ and /shop/login/ are counted by django-axes per
username and client address (kameng.client_address; settings AXES_*). Past the
limit, axes refuses the next attempts before any password check and
AxesMiddleware answers with `lockout_response`.

The shop's login is for buyers only: a staff account is refused there with a
message and no session, so a session opened in the shop never reaches /admin/.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from kameng.errors import render_error


def lockout_minutes() -> int:
    return max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def lockout_response(request, original_response=None, credentials=None):
    """429 with the lockout in words, in the shop's layout (nobody is logged in)."""
    return render_error(
        request,
        status=429,
        title=gettext("Too many failed logins"),
        message=gettext(
            "Too many failed logins from your address. Try again in "
            "%(minutes)s minutes."
        )
        % {"minutes": lockout_minutes()},
    )


class ShopLoginForm(AuthenticationForm):
    """The shop's login: buyers only."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.is_staff:
            raise ValidationError(
                gettext("This is a staff account: log in to the back office instead."),
                code="staff_account",
            )
