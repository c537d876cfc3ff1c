"""Staff sessions: they expire sooner than a buyer's, and pass two-factor.

StaffSessionMiddleware ends a staff session idle for STAFF_SESSION_IDLE_MINUTES
or older than STAFF_SESSION_MAX_HOURS (buyers keep SESSION_COOKIE_AGE). The last
activity is written at most once a minute, so a busy page does not write its
session on every request.

TwoFactorMiddleware (after django_otp's OTPMiddleware) sends a member of staff
who needs the second step (users.two_factor.needs_verification) and has not
passed it in this session to the verify page, or to enrolment when they have no
authenticator yet. Only those pages, logging out and the language switch are
open before that.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.contrib.auth import middleware as auth_middleware
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from users import backends, two_factor

STARTED_KEY = "kameng_staff_started"
SEEN_KEY = "kameng_staff_seen"
TOUCH_EVERY = timedelta(minutes=1)

# Open to a staff session before its second step.
BEFORE_SECOND_STEP = {
    "admin:login",
    "admin:logout",
    "admin:jsi18n",
    "shop:logout",
    "set_language",
    "two_factor_setup",
    "two_factor_verify",
    "favicon.ico",
    "healthz",
}


def start_staff_session(session, now=None) -> None:
    """Called at a staff login (users.signals)."""
    stamp = (now or timezone.now()).timestamp()
    session[STARTED_KEY] = stamp
    session[SEEN_KEY] = stamp
    session.set_expiry(settings.STAFF_SESSION_IDLE_MINUTES * 60)


def staff_session_expired(session, now) -> bool:
    started = session.get(STARTED_KEY)
    seen = session.get(SEEN_KEY)
    if started is None or seen is None:
        return False
    current = now.timestamp()
    idle = timedelta(minutes=settings.STAFF_SESSION_IDLE_MINUTES).total_seconds()
    lifetime = timedelta(hours=settings.STAFF_SESSION_MAX_HOURS).total_seconds()
    return current - seen > idle or current - started > lifetime


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, and a session opened under Django's ModelBackend is renamed to
    ours (users.backends) before its user is read, so the backend's change
    logs nobody out. Once SESSION_COOKIE_AGE has passed since the change no
    such session is left and the rename can go."""

    def process_request(self, request):
        session = request.session
        if session.get(BACKEND_SESSION_KEY) == backends.DJANGO_MODEL_BACKEND:
            session[BACKEND_SESSION_KEY] = backends.PATH
        super().process_request(request)


class StaffSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and user.is_staff:
            session = request.session
            now = timezone.now()
            if STARTED_KEY not in session:
                # A session opened before this rule: its clock starts now.
                start_staff_session(session, now)
            elif staff_session_expired(session, now):
                logout(request)
                messages.info(request, _("Your session has expired. Log in again."))
                return redirect_to_login(request)
            elif now.timestamp() - session[SEEN_KEY] >= TOUCH_EVERY.total_seconds():
                session[SEEN_KEY] = now.timestamp()
                session.set_expiry(settings.STAFF_SESSION_IDLE_MINUTES * 60)
        return self.get_response(request)


def redirect_to_login(request):
    query = urlencode({"next": request.get_full_path()})
    return redirect(f"{reverse('admin:login')}?{query}")


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_staff) or user.is_verified():
            return None
        match = request.resolver_match
        if match is not None and match.view_name in BEFORE_SECOND_STEP:
            return None
        if two_factor.is_enabled(user):
            target = "two_factor_verify"
        elif two_factor.is_required(user):
            target = "two_factor_setup"
        else:
            return None
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse(target)}?{query}")
