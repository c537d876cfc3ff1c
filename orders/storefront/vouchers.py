"""The shop's 兑换券 page: a logged-in buyer types a voucher code and gets an
order for its SKU, paid by the voucher, delivered as any order. A top-up
voucher first asks for the account to credit (the SKU's recharge fields).
Also the wallet page's top-up bonus part (rules and the cash/bonus split).
Switched off (kameng.modules), the page answers 404."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.recharge import form_fields
from kameng.client_address import client_address
from kameng.exceptions import DomainError
from kameng.modules import is_enabled
from marketing.topup_bonus import MODULE as BONUS_MODULE
from marketing.topup_bonus import rules_for_shop
from marketing.vouchers import MODULE
from orders.storefront.forms import RULE_HINTS
from orders.vouchers import redeem_voucher, voucher_sku
from users.wallet_bonus import wallet_split


class VoucherForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Voucher code"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters"}
        ),
    )

    def __init__(self, *args, sku=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.recharge_keys = []
        for field in form_fields(sku.recharge_fields) if sku is not None else ():
            attrs = {"maxlength": 64, "autocomplete": "off"}
            attrs.update(RULE_HINTS.get(field["rule"], {}))
            self.fields[f"account_{field['key']}"] = forms.CharField(
                label=field["label"],
                required=field["required"],
                max_length=64,
                widget=forms.TextInput(attrs=attrs),
            )
            self.recharge_keys.append(field["key"])

    def recharge_account(self) -> dict:
        return {
            key: self.cleaned_data.get(f"account_{key}", "")
            for key in self.recharge_keys
        }


@login_required(login_url="shop:login")
def redeem(request):
    if not is_enabled(MODULE):
        raise Http404(_("This module is switched off."))
    sku = None
    form = VoucherForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        try:
            sku = voucher_sku(code=code)
            form = VoucherForm(request.POST, sku=sku)
            needs_account = bool(form.recharge_keys)
            if form.is_valid() and (not needs_account or "_redeem" in request.POST):
                order = redeem_voucher(
                    code=code,
                    buyer=request.user,
                    recharge_account=form.recharge_account(),
                    ip=client_address(request),
                )
                messages.success(
                    request,
                    _("Voucher redeemed: order %(no)s for %(item)s.")
                    % {"no": order.order_no, "item": sku},
                )
                return redirect("shop:order", order_no=order.order_no)
            if needs_account and "_redeem" not in request.POST:
                form = VoucherForm(initial={"code": code}, sku=sku)
        except DomainError as exc:
            fields = exc.extra.get("fields") or {}
            placed = False
            for key, errors in fields.items():
                name = f"account_{key}"
                if name in form.fields:
                    for error in errors:
                        form.add_error(name, error)
                    placed = True
            if not placed:
                form.add_error("code", exc.message)
    return render(request, "shop/voucher_redeem.html", {"form": form, "sku": sku})


def topup_bonus_context(user) -> dict:
    """What the wallet page shows of top-up bonuses: the rules in force (for
    the form's "this amount gets ¥5" line) and the bonus part of the balance."""
    cash, bonus = wallet_split(user=user)
    rules = rules_for_shop(buyer_id=user.pk) if is_enabled(BONUS_MODULE) else []
    tiers = [
        {"threshold": str(tier["threshold"]), "bonus": str(tier["bonus"])}
        for rule in rules
        if rule["times_left"] is None or rule["times_left"] > 0
        for tier in rule["tiers"]
    ]
    return {
        "bonus_rules": rules,
        "bonus_tiers": tiers,
        "wallet_cash": cash,
        "wallet_bonus": bonus,
    }
