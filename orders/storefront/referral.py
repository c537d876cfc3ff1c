"""The shop's side of referral (邀请有礼): the invite page, the invite link and
what the signup hands to marketing.

- `/shop/invite/`: the buyer's code, link (copy button: static/shop/referral.js),
  invited friends with masked names and their state, rewards earned.
- `/shop/i/<code>/`: keeps the code in a cookie for 30 days and leads to the
  signup (`/shop/signup/?invite=<code>` works as well).
- `remembers_device`: the shop pages that matter to referral (invite page,
  invite link, signup) give a browser without one a long-lived random device
  cookie; the abuse checks compare it.
- `capture_invite`: called by the signup view once the account exists; hands
  the code, the client's address and the device cookie to
  marketing.referral.record_referral. A refused invite (self-invite, unknown
  code) never refuses the signup: the buyer is told and has an account.

With the referral module switched off these pages answer 404 and nothing is
captured.
"""

from __future__ import annotations

import re
import secrets
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from kameng.client_address import client_ip
from marketing.referral import (
    ReferralRefused,
    code_for,
    friends_of,
    inviter_code,
    module_on,
    normalise_code,
    record_referral,
    referral_settings,
    reward_rules,
    rewards_of,
)

DEVICE_COOKIE = "kameng_device"
DEVICE_COOKIE_AGE = 2 * 365 * 24 * 3600
DEVICE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
INVITE_COOKIE = "kameng_invite"
INVITE_COOKIE_AGE = 30 * 24 * 3600


def device_id(request) -> str:
    """The browser's device cookie, or the one this response is about to set."""
    value = request.COOKIES.get(DEVICE_COOKIE, "")
    if DEVICE_PATTERN.match(value):
        return value
    if not getattr(request, "new_device_id", ""):
        request.new_device_id = secrets.token_urlsafe(18)
    return request.new_device_id


def invite_code_of(request) -> str:
    return normalise_code(
        request.GET.get("invite") or request.COOKIES.get(INVITE_COOKIE, "")
    )


def set_shop_cookie(response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def remembers_device(view):
    """Give the browser a device cookie when it has none; keep an invite code
    from the query string; forget it once a signup used it."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        known = DEVICE_PATTERN.match(request.COOKIES.get(DEVICE_COOKIE, ""))
        response = view(request, *args, **kwargs)
        if not module_on():
            return response
        if not known:
            set_shop_cookie(
                response, DEVICE_COOKIE, device_id(request), DEVICE_COOKIE_AGE
            )
        if getattr(request, "invite_used", False):
            response.delete_cookie(INVITE_COOKIE)
        elif normalise_code(request.GET.get("invite")):
            code = normalise_code(request.GET["invite"])
            set_shop_cookie(response, INVITE_COOKIE, code, INVITE_COOKIE_AGE)
        return response

    return wrapped


def capture_invite(request, *, invitee) -> None:
    """After a successful signup: record who invited the new buyer."""
    code = invite_code_of(request)
    if not code or not module_on():
        return
    request.invite_used = True
    signed_in = request.user.pk if request.user.is_authenticated else None
    try:
        record_referral(
            code=code,
            invitee=invitee,
            ip=client_ip(request),
            device_id=device_id(request),
            signed_in_as_id=signed_in,
        )
    except ReferralRefused as exc:
        messages.info(request, exc.message)


def invite_context(request) -> dict:
    """For the signup page: whose invite the visitor is following."""
    code = invite_code_of(request) if module_on() else ""
    owner = inviter_code(code) if code else None
    return {"invite_code": owner.code if owner else ""}


@remembers_device
def invite_link(request, code: str):
    if not module_on():
        raise Http404
    owner = inviter_code(code)
    if owner is None:
        messages.error(request, _("This invite link is not valid."))
        return redirect("shop:signup")
    if request.user.is_authenticated:
        if request.user.pk == owner.user_id:
            messages.info(request, _("This is your own invite link: share it."))
            return redirect("shop:referral")
        messages.info(request, _("You already have an account."))
        return redirect("shop:home")
    response = redirect(f"{reverse('shop:signup')}?{urlencode({'invite': owner.code})}")
    set_shop_cookie(response, INVITE_COOKIE, owner.code, INVITE_COOKIE_AGE)
    return response


@login_required(login_url="shop:login")
@remembers_device
def my_invites(request):
    if not module_on():
        raise Http404
    context = {"staff": request.user.is_staff}
    if not request.user.is_staff:
        code = code_for(
            user=request.user, device_id=device_id(request), ip=client_ip(request)
        )
        config = referral_settings()
        context.update(
            code=code.code,
            link=request.build_absolute_uri(reverse("shop:invite", args=[code.code])),
            friends=friends_of(user=request.user),
            rewards=rewards_of(user=request.user),
            rules=reward_rules(config),
        )
    return render(request, "shop/referral.html", context)
