"""我的积分 in the shop: balance, entries, the daily check-in, points expiring
soon, the points mall; the review form on an order page; and the "use points"
field of the checkout form. Every page answers 404 while the points module is
switched off (marketing.points); the rules are marketing's and
orders.points_mall's."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kameng.client_address import client_address
from kameng.exceptions import DomainError
from kameng.modules import is_enabled
from kameng.parsing import parse_ascii_int
from marketing import points
from orders.models import Order
from orders.points_mall import redeem_mall_item, review_order

MAX_POINTS_INPUT = 9  # digits


def _points_on() -> None:
    if not is_enabled(points.CODE):
        raise Http404(_("This module is switched off."))


# --- the checkout form's field and the option it gives -------------------------------


def add_points_field(form, *, buyer) -> None:
    """A "use points" field on the checkout form, for a logged-in buyer while
    points are on."""
    if buyer is None or not is_enabled(points.CODE):
        return
    form.fields["points"] = forms.IntegerField(
        label=gettext_lazy("Use points"),
        required=False,
        min_value=0,
        max_value=10**MAX_POINTS_INPUT - 1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0}),
    )


def points_option(data: Mapping, *, buyer) -> dict:
    """{"points": n} from the posted form or the quote's query string, or {}."""
    if buyer is None or not is_enabled(points.CODE):
        return {}
    raw = data.get("points", "") if data else ""
    wanted = parse_ascii_int(str(raw), max_digits=MAX_POINTS_INPUT) if raw else None
    return {"points": wanted} if wanted else {}


# --- 我的积分 -----------------------------------------------------------------------


@never_cache
@login_required(login_url="shop:login")
def my_points(request):
    _points_on()
    account = points.account_for(request.user)
    before = parse_ascii_int(request.GET.get("before", ""), max_digits=18)
    entries, next_before = points.entries_page(account=account, before=before)
    return render(
        request,
        "shop/points.html",
        {
            "balance": account.balance if account else 0,
            "entries": entries,
            "next_before": next_before,
            "checked_in": points.checked_in_today(buyer=request.user),
            "rules": points.current_settings(),
            "expiring": points.expiring_soon(account=account),
            "notices": points.open_notices(account=account),
            "mall": points.mall_items(),
        },
    )


@require_POST
@login_required(login_url="shop:login")
def checkin(request):
    _points_on()
    try:
        entry = points.check_in(buyer=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Checked in: %(n)s points added.") % {"n": entry.amount}
        )
    return redirect("shop:points")


@require_POST
@login_required(login_url="shop:login")
def redeem(request, pk: int):
    _points_on()
    try:
        order = redeem_mall_item(
            item_id=pk, buyer=request.user, ip=client_address(request)
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("shop:points")
    messages.success(request, _("Redeemed with points."))
    return redirect("shop:order", order_no=order.order_no)


class ReviewForm(forms.Form):
    stars = forms.TypedChoiceField(
        label=gettext_lazy("Stars"),
        choices=[(n, "★" * n) for n in range(5, 0, -1)],
        coerce=int,
        initial=5,
    )
    text = forms.CharField(
        label=gettext_lazy("Your review"),
        max_length=points.REVIEW_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@require_POST
@login_required(login_url="shop:login")
def review(request, order_no: str):
    _points_on()
    order = get_object_or_404(Order, order_no=order_no, buyer=request.user)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect("shop:order", order_no=order.order_no)
    try:
        review_order(
            order=order,
            buyer=request.user,
            stars=form.cleaned_data["stars"],
            text=form.cleaned_data["text"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Thank you: your review is shown once the shop has checked it.")
        )
    return redirect("shop:order", order_no=order.order_no)
