"""Points (积分) back-office page: a staff adjustment (finance or marketing,
with marketing.adjust_points), with a reason, audited as points.adjust. The
form's key makes a double click adjust once."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kameng.admin_pages import render_page, staff_page
from kameng.exceptions import DomainError
from kameng.navigation import Page, register_page
from marketing.models import PointsEntry
from marketing.points import ADJUST_PERMISSION, MAX_ADJUST, adjust_points
from users.models import User

register_page(
    Page(
        app_label="marketing",
        title=gettext_lazy("Adjust points"),
        url_name="marketing:points_adjust",
        permission=ADJUST_PERMISSION,
        icon="toll",
    )
)


class AdjustPointsForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Buyer (username)"), max_length=150)
    amount = forms.IntegerField(
        label=gettext_lazy("Points (negative to take away)"),
        min_value=-MAX_ADJUST,
        max_value=MAX_ADJUST,
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=255)
    key = forms.UUIDField(widget=forms.HiddenInput)

    def clean_username(self):
        name = self.cleaned_data["username"].strip()
        buyer = User.objects.filter(username=name, is_staff=False).first()
        if buyer is None:
            raise forms.ValidationError(_("No buyer with this username."))
        self.buyer = buyer
        return name

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(_("Points: a number other than 0."))
        return amount


@staff_page(ADJUST_PERMISSION)
def points_adjust(request):
    form = AdjustPointsForm(request.POST or None, initial={"key": uuid.uuid4()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = adjust_points(
                buyer=form.buyer,
                amount=data["amount"],
                reason=data["reason"],
                actor=request.user,
                key=data["key"],
            )
        except DomainError as exc:
            form.add_error(exc.extra.get("field"), exc.message)
        else:
            messages.success(
                request,
                _("%(buyer)s: %(amount)+d points, balance now %(balance)s.")
                % {
                    "buyer": form.buyer.username,
                    "amount": entry.amount,
                    "balance": entry.balance_after,
                },
            )
            return redirect("marketing:points_adjust")
    recent = (
        PointsEntry.objects.filter(kind=PointsEntry.Kind.ADJUST)
        .select_related("account__buyer", "actor")
        .order_by("-id")[:20]
    )
    return render_page(
        request,
        "marketing/points_adjust.html",
        {"form": form, "recent": recent, "page_id": "points-adjust"},
        title=_("Adjust points"),
    )
