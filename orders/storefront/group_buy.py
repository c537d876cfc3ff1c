"""Group buy (拼团) in the shop: open a group from a product page, the group's
page (members masked, seats left, countdown, share link) and joining it.

Opening and joining pay from the wallet in one transaction with the seat
(orders.checkout.buy_with_wallet with the group option): a full, expired or
already-joined group refuses before anything is charged. Every view answers
404 while the module is switched off.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from catalog.models import Product
from kameng.client_address import client_address
from kameng.exceptions import DomainError
from kameng.modules import is_enabled
from marketing.group_buy import (
    CODE,
    group_by_token,
    group_of_order,
    join_option,
    join_refusal,
    masked_name,
    open_option,
    running_campaigns,
    seated_members,
)
from marketing.models import BuyerGroup
from orders.checkout import buy_with_wallet


def _module_on() -> None:
    if not is_enabled(CODE):
        raise Http404


def _group(token: str) -> BuyerGroup:
    _module_on()
    group = group_by_token(token)
    if group is None:
        raise Http404
    return group


def group_page(request, token: str):
    group = _group(token)
    now = timezone.now()
    members = seated_members(group)
    buyer_id = request.user.pk if request.user.is_authenticated else None
    mine = any(member.buyer_id == buyer_id for member in members)
    refusal = None if mine else join_refusal(group=group, buyer_id=buyer_id, now=now)
    campaign = group.campaign
    return render(
        request,
        "shop/group_buy.html",
        {
            "group": group,
            "campaign": campaign,
            "sku": campaign.sku,
            "product": campaign.sku.product,
            "members": [
                {
                    "name": masked_name(member.buyer),
                    "leader": member.buyer_id == group.leader_id,
                }
                for member in members
            ],
            "empty_seats": range(group.seats_left),
            "mine": mine,
            "refusal": refusal,
            "can_join": group.state == BuyerGroup.State.OPEN
            and not refusal
            and not mine,
            "share_url": request.build_absolute_uri(
                reverse("shop:group", args=[group.token])
            ),
            "countdown": {
                "deadline": group.deadline.isoformat(),
                "seconds": max(int((group.deadline - now).total_seconds()), 0),
            },
            "open_now": group.state == BuyerGroup.State.OPEN and group.deadline > now,
        },
    )


def _pay_error(request, exc: DomainError) -> None:
    messages.error(request, exc.message)


@require_POST
@login_required(login_url="shop:login")
def join_group(request, token: str):
    group = _group(token)
    try:
        buy_with_wallet(
            sku=group.campaign.sku,
            quantity=1,
            buyer=request.user,
            ip=client_address(request),
            options=join_option(group.token),
        )
    except DomainError as exc:  # full, expired, joined already, short of balance
        _pay_error(request, exc)
    else:
        messages.success(request, _("You joined the group and paid."))
    return redirect("shop:group", token=group.token)


@require_POST
@login_required(login_url="shop:login")
def open_group(request, pk: int):
    """Open a group on the running campaign `pk`: pay and get the share link."""
    _module_on()
    campaign = get_object_or_404(
        running_campaigns()
        .filter(sku__is_active=True, sku__product__status=Product.Status.LISTED)
        .select_related("sku"),
        pk=pk,
    )
    try:
        order = buy_with_wallet(
            sku=campaign.sku,
            quantity=1,
            buyer=request.user,
            ip=client_address(request),
            options=open_option(campaign.pk),
        )
    except DomainError as exc:
        _pay_error(request, exc)
        return redirect(
            f"{reverse('shop:product', args=[campaign.sku.product_id])}"
            f"?sku={campaign.sku_id}"
        )
    group = group_of_order(order_id=order.pk)
    messages.success(
        request, _("Your group is open: share the link so others can join.")
    )
    return redirect("shop:group", token=group.token)
