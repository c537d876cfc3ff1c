"""A buyer's own account in the shop: who they are, their recent logins (so a
login they did not make stands out), and changing their password (Django's
password validators, in Chinese)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from users.tracking import login_history


@never_cache
@login_required(login_url="shop:login")
def account(request):
    return render(
        request,
        "shop/account.html",
        {"account": request.user, "logins": login_history(user=request.user)},
    )


@never_cache
@login_required(login_url="shop:login")
def password_change(request):
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)  # this session stays logged in
        messages.success(request, _("Your password has been changed."))
        return redirect("shop:account")
    return render(request, "shop/password_change.html", {"form": form})
