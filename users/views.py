"""Back-office pages of users: a buyer's wallet (balance, filtered ledger,
manual adjustment by finance)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kameng.admin_pages import render_page, staff_page
from kameng.exceptions import DomainError
from users.models import LedgerEntry, User
from users.services import get_or_create_wallet
from users.wallets import (
    ADJUST_PERMISSION,
    LedgerFilter,
    adjust_wallet,
    ledger_rows,
    open_ledger_alerts,
)

VIEW_PERMISSIONS = ("users.view_wallet", "users.view_ledgerentry")
MAX_AMOUNT = Decimal("1000000.00")


class LedgerFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=[("", gettext_lazy("All kinds")), *LedgerEntry.Kind.choices],
        required=False,
    )
    date_from = forms.DateField(label=gettext_lazy("From (date)"), required=False)
    date_to = forms.DateField(label=gettext_lazy("To (date)"), required=False)
    amount_min = forms.DecimalField(
        label=gettext_lazy("Amount at least"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
    )
    amount_max = forms.DecimalField(
        label=gettext_lazy("Amount at most"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
    )
    before = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to"):
            if data["date_from"] > data["date_to"]:
                self.add_error("date_to", _("The end date is before the start date."))
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", _("The largest amount is below the smallest."))
        return data

    def filters(self) -> LedgerFilter:
        if not self.is_valid():
            return LedgerFilter()
        data = self.cleaned_data
        return LedgerFilter(
            kind=data.get("kind") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            amount_min=data.get("amount_min"),
            amount_max=data.get("amount_max"),
            before=data.get("before"),
        )


class AdjustForm(forms.Form):
    key = forms.UUIDField(widget=forms.HiddenInput)
    amount = forms.DecimalField(
        label=gettext_lazy("Amount (negative to take money off)"),
        max_digits=14,
        decimal_places=2,
        min_value=-MAX_AMOUNT,
        max_value=MAX_AMOUNT,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=255,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Recorded in the ledger with your name."),
    )

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(_("An adjustment cannot be zero."))
        return amount


def _buyer(user_id: int) -> User:
    return get_object_or_404(User, pk=user_id, is_staff=False)


@staff_page(VIEW_PERMISSIONS)
def buyer_wallet(request, pk: int):
    """Balance, the ledger with filters (newest first, page by page without a
    count), and the adjustment form for those who may adjust."""
    buyer = _buyer(pk)
    wallet = get_or_create_wallet(user=buyer)
    filter_form = LedgerFilterForm(request.GET or None)
    rows, next_before = ledger_rows(wallet=wallet, filters=filter_form.filters())
    query = request.GET.copy()
    query.pop("before", None)
    if next_before:
        query["before"] = next_before
    can_adjust = request.user.has_perm(ADJUST_PERMISSION)
    return render_page(
        request,
        "users/wallet.html",
        {
            "buyer": buyer,
            "wallet": wallet,
            "rows": rows,
            "filter_form": filter_form,
            "next_query": query.urlencode() if next_before else "",
            "adjust_form": AdjustForm(initial={"key": uuid.uuid4()})
            if can_adjust
            else None,
            "alert": open_ledger_alerts().filter(wallet=wallet).first(),
            "page_id": "buyer-wallet",
        },
        title=_("Wallet of %(buyer)s") % {"buyer": buyer},
    )


@staff_page((*VIEW_PERMISSIONS, ADJUST_PERMISSION))
def adjust(request, pk: int):
    """Finance adjusts the balance: amount and a mandatory reason."""
    buyer = _buyer(pk)
    form = AdjustForm(request.POST or None, initial={"key": uuid.uuid4()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = adjust_wallet(
                user=buyer,
                amount=data["amount"],
                reason=data["reason"],
                actor=request.user,
                key=data["key"],
            )
        except DomainError as exc:
            field = exc.extra.get("field")
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("Balance adjusted by %(amount)s; it is now %(balance)s.")
                % {"amount": entry.amount, "balance": entry.balance_after},
            )
            return redirect("wallets:buyer_wallet", pk=buyer.pk)
    return render_page(
        request,
        "users/wallet_adjust.html",
        {"buyer": buyer, "form": form, "page_id": "wallet-adjust"},
        title=_("Adjust the wallet of %(buyer)s") % {"buyer": buyer},
    )
