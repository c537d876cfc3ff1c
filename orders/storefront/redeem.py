"""Shop pages of coupon issuing: redeeming a code for a coupon (兑换优惠券,
rate-limited: kameng.ratelimits) and the buyer's birthday on their account
(the birthday gift of member levels that have one). marketing.redeem_codes
holds the rules; the coupons module switched off makes the redeem page a 404."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from kameng.exceptions import DomainError
from kameng.modules import is_enabled
from marketing.issuing import MODULE
from marketing.redeem_codes import redeem_code
from users.models import User


class RedeemForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Redeem code"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters"}
        ),
        error_messages={"required": gettext_lazy("Enter the redeem code.")},
    )


@never_cache
@login_required(login_url="shop:login")
def redeem_coupon(request):
    if not is_enabled(MODULE):
        raise Http404(_("This module is switched off."))
    form = RedeemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            coupon = redeem_code(user=request.user, typed=form.cleaned_data["code"])
        except DomainError as exc:
            form.add_error("code", exc.message)
        else:
            messages.success(
                request,
                _("Redeemed: the coupon “%(name)s” is now in My coupons.")
                % {"name": coupon.template},
            )
            return redirect("shop:coupons")
    return render(request, "shop/redeem_coupon.html", {"form": form})


class BirthdayForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("birthday",)
        widgets = {"birthday": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["birthday"].required = False
        self.fields["birthday"].error_messages["invalid"] = _(
            "Enter the birthday as a date, e.g. 1995-08-17."
        )


@never_cache
@login_required(login_url="shop:login")
def birthday(request):
    form = BirthdayForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your birthday has been saved."))
        return redirect("shop:account")
    return render(request, "shop/birthday.html", {"form": form})
