"""Coupons in the shop: 我的优惠券 (available / used / expired), the coupon
<select> of the checkout form (the best applicable coupon preselected, the
others listed with why they do not apply) and the option it gives checkout.
Every page answers 404 and the field is absent while the coupons module is
switched off; the rules are marketing's (marketing.coupons)."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from kameng.modules import is_enabled
from kameng.parsing import parse_ascii_int
from marketing.coupons.module import COUPONS
from marketing.coupons.rules import describe_stacking, describe_value
from marketing.coupons.selectors import choices_for, scope_words, wallet_of

TABS = {
    "available": gettext_lazy("Available"),
    "used": gettext_lazy("Used"),
    "expired": gettext_lazy("Expired"),
}
PAGE_SIZE = 50


def coupons_on() -> bool:
    return is_enabled(COUPONS.code)


# --- the checkout form's field and the option it gives ---------------------------


class PostedCouponField(forms.Field):
    """The coupon a checkout POST names: empty, or a coupon id in ASCII digits
    (as coupon_option reads it). Whose coupon it is and whether it applies is
    checkout's rule (marketing.coupons.module's price step and claim), so the
    POST needs none of the lookups that list the buyer's coupons."""

    default_error_messages = forms.ChoiceField.default_error_messages

    def to_python(self, value):
        if value in self.empty_values:
            return None
        coupon_id = parse_ascii_int(str(value), max_digits=18)
        if not coupon_id:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return coupon_id


def add_coupon_field(form, *, buyer, sku, choices: bool = True) -> None:
    """A coupon <select> on the checkout form for a logged-in buyer with
    coupons: the applicable ones, best first and preselected, and "no coupon".
    `form.coupon_choices` keeps every coupon with its discount or reason.

    `choices=False` (a checkout POST, which redirects when it succeeds) adds
    only PostedCouponField, without reading the buyer's coupons; a form that
    is shown again is given the <select> with add_coupon_field again."""
    form.coupon_choices = []
    if buyer is None or sku is None or not coupons_on():
        return
    if not choices:
        form.fields["coupon"] = PostedCouponField(required=False)
        return
    quantity = parse_ascii_int(str(form.data.get("quantity", ""))) or sku.min_quantity
    quantity = min(max(quantity, sku.min_quantity), sku.max_quantity)
    choices = choices_for(buyer=buyer, sku=sku, quantity=quantity)
    if not choices:
        return
    form.coupon_choices = choices
    usable = [
        (
            str(choice.coupon.pk),
            _("%(name)s (−¥%(off)s)")
            % {"name": choice.coupon.template.name, "off": choice.discount},
        )
        for choice in choices
        if choice.applies
    ]
    # every coupon the buyer holds is a valid answer: one that does not apply
    # (any more) is refused by checkout with its reason, not by the form
    valid = [(str(choice.coupon.pk), choice.coupon.template.name) for choice in choices]
    field = forms.TypedChoiceField(
        label=gettext_lazy("Coupon"),
        required=False,
        choices=[("", _("No coupon")), *usable],
        coerce=int,
        empty_value=None,
    )
    field.valid_values = {value for value, _label in valid}
    field.valid_value = lambda value: (
        value in ("", None) or str(value) in (field.valid_values)
    )
    field.initial = usable[0][0] if usable else ""
    form.fields["coupon"] = field


def coupon_option(data: Mapping, *, buyer) -> dict:
    """{"coupon_id": n} from the posted form or the quote's query string, or {}.
    Only the checkout form carries the CSRF token: a quote without it is a
    preview, where a coupon that no longer applies (the quantity changed) is
    left out instead of refusing the quote; checkout then says why."""
    if buyer is None or not data or not coupons_on():
        return {}
    coupon_id = parse_ascii_int(str(data.get("coupon", "")), max_digits=18)
    if not coupon_id:
        return {}
    if "csrfmiddlewaretoken" not in data:
        return {"coupon_id": coupon_id, "coupon_preview": True}
    return {"coupon_id": coupon_id}


def initial_choice(form) -> dict:
    """The preselected coupon as form data, for the page's first quote."""
    field = getattr(form, "fields", {}).get("coupon")
    return {"coupon": field.initial} if field is not None and field.initial else {}


# --- 我的优惠券 ---------------------------------------------------------------


@never_cache
@login_required(login_url="shop:login")
def my_coupons(request):
    if not coupons_on():
        raise Http404(_("This module is switched off."))
    tab = request.GET.get("tab", "available")
    if tab not in TABS:
        tab = "available"
    coupons = list(
        wallet_of(buyer=request.user, tab=tab).prefetch_related(
            "template__categories", "template__products__category", "template__skus"
        )[:PAGE_SIZE]
    )
    rows = [
        {
            "coupon": coupon,
            "value": describe_value(coupon.template),
            "scope": scope_words(coupon.template),
            "stacking": describe_stacking(coupon.template),
        }
        for coupon in coupons
    ]
    return render(
        request,
        "shop/coupons.html",
        {"tab": tab, "tabs": TABS.items(), "rows": rows, "page_size": PAGE_SIZE},
    )
