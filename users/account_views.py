"""A member of staff's own account (/admin/me/): profile, login history and
two-factor authentication (enrol, the verify step after the password, recovery
codes, switching it off where it is optional). Rules live in users.two_factor.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from kameng.admin_pages import render_page, staff_page
from users import tracking, two_factor
from users.account_forms import CodeForm, EnrolForm
from users.models import LoginMethod

METHOD_OF = {"totp": LoginMethod.TOTP, "recovery": LoginMethod.RECOVERY}


def next_url(request) -> str:
    """Where to go once verified: the page asked for, if it is one of ours (a
    path on this site: anything else would be taken for a view name)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


@staff_page(None)
def my_account(request):
    """Every member of staff sees their own account (and no one else's): name,
    roles, last login, their logins, two-factor; the password is changed from
    here."""
    user = request.user
    return render_page(
        request,
        "admin/kameng/my_account.html",
        {
            "account": user,
            "roles": list(user.groups.order_by("name").values_list("name", flat=True)),
            "logins": tracking.login_history(user=user),
            "two_factor_on": two_factor.is_enabled(user),
            "two_factor_required": two_factor.is_required(user),
            "recovery_codes_left": two_factor.recovery_codes_left(user),
            "code_form": CodeForm(),
            "page_id": "my-account",
        },
        title=gettext("My account"),
    )


@staff_page(None)
def two_factor_setup(request):
    """Scan the QR code, type the first code: two-factor is on, and the
    recovery codes are shown this once."""
    user = request.user
    if two_factor.is_enabled(user):
        return redirect("my_account")
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = two_factor.confirm_enrolment(
                request=request, user=user, code=form.cleaned_data["code"]
            )
        except two_factor.TwoFactorError as exc:
            form.add_error("code", exc.message)
        else:
            return recovery_codes_page(request, codes)
    enrolment = two_factor.start_enrolment(user=user)
    return render_page(
        request,
        "users/two_factor_setup.html",
        {
            "form": form,
            "secret": enrolment.secret,
            # Drawn by the qrcode library from our own otpauth:// URL: paths
            # only, no script or style.
            "qr_svg": mark_safe(enrolment.qr_svg),
            "required": two_factor.is_required(user),
            "next": next_url(request),
            "page_id": "two-factor-setup",
        },
        title=gettext("Set up two-factor authentication"),
    )


@staff_page(None)
def two_factor_verify(request):
    """The step after the password: an authenticator or a recovery code."""
    user = request.user
    if user.is_verified():
        return redirect(next_url(request))
    if not two_factor.is_enabled(user):
        query = urlencode({"next": next_url(request)})
        return redirect(f"{reverse('two_factor_setup')}?{query}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        method = (
            LoginMethod.RECOVERY
            if two_factor.looks_like_recovery_code(code)
            else LoginMethod.TOTP
        )
        try:
            used = two_factor.verify(request=request, user=user, code=code)
        except two_factor.TwoFactorError as exc:
            form.add_error("code", exc.message)
            tracking.record_login(
                request=request,
                user=user,
                username=user.get_username(),
                success=False,
                method=method,
            )
        else:
            tracking.record_login(
                request=request,
                user=user,
                username=user.get_username(),
                success=True,
                method=METHOD_OF[used],
            )
            if used == "recovery":
                messages.warning(
                    request,
                    gettext(
                        "You used a recovery code; %(left)s are left. Make new "
                        "ones on your account page if you are running out."
                    )
                    % {"left": two_factor.recovery_codes_left(user)},
                )
            return redirect(next_url(request))
    return render_page(
        request,
        "users/two_factor_verify.html",
        {"form": form, "next": next_url(request), "page_id": "two-factor-verify"},
        title=gettext("Two-factor authentication"),
    )


@require_POST
@staff_page(None)
def two_factor_disable(request):
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            two_factor.disable(user=request.user, code=form.cleaned_data["code"])
        except two_factor.TwoFactorError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, gettext("Two-factor authentication is off."))
    else:
        messages.error(request, gettext("Type a code to switch two-factor off."))
    return redirect("my_account")


@require_POST
@staff_page(None)
def two_factor_recovery_codes(request):
    """A new set of recovery codes (the old ones stop working), shown once."""
    if not two_factor.is_enabled(request.user):
        return redirect("my_account")
    codes = two_factor.issue_recovery_codes(user=request.user)
    return recovery_codes_page(request, codes)


def recovery_codes_page(request, codes: list[str]):
    return render_page(
        request,
        "users/recovery_codes.html",
        {"codes": codes, "next": next_url(request), "page_id": "recovery-codes"},
        title=gettext("Your recovery codes"),
    )
