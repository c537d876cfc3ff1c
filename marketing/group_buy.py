"""Group buy (拼团, issue 13), marketing's side: the module, the group price
layer, seats in groups, and which groups are full or past their deadline.

Marketing never imports orders. Orders (orders.group_buy) calls in here with
order ids, inside its own transactions:

- at checkout, `claim_group_seat` (a marketing.benefits claim) opens a group or
  takes a seat in one, under the group's row lock: a full, expired or failed
  group, or a buyer already in it, refuses the order before anything is paid;
- when the order is paid, `seat_paid` records it and says whether the group is
  now full (then every member's order is delivered) or still waiting;
- a cancelled or refunded order leaves its group while the group is open
  (`release_group_seat`, the benefits release);
- the beat task asks `expired_group_ids` and fails each group with
  `fail_group`, which returns the orders to refund.

The buyer chooses in `options["group"]`: "open:<campaign id>" opens a group,
"join:<token>" joins one (`open_option`, `join_option`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from catalog.services.pricing import (
    LAYER_LABELS,
    PriceQuote,
    QuoteContext,
    register_price_step,
)
from kameng.exceptions import DomainError
from kameng.masking import mask_other
from kameng.modules import Module, is_enabled, register_module
from marketing.benefits import Benefit, OrderRef, register_benefit
from marketing.models import BuyerGroup, GroupBuyCampaign, GroupMember

CODE = "group_buy"
LAYER = "group_buy"
OPEN_GROUPS_SHOWN = 5  # open groups listed on a product page

GROUP_BUY = register_module(
    Module(
        code=CODE,
        title=pgettext_lazy("group buy", "Group buy"),
        description=gettext_lazy(
            "Group buy campaigns on SKUs: the shop's group offers and group "
            "pages, the group price, and the automatic refund of groups that "
            "do not fill."
        ),
        models=(
            "marketing.groupbuycampaign",
            "marketing.buyergroup",
            "marketing.failedgroup",
            "marketing.groupmember",
        ),
        order=30,
    )
)

Group = BuyerGroup.State


class GroupBuyRefused(DomainError):
    code = "marketing_group_buy_refused"


def open_option(campaign_id: int) -> dict:
    return {"group": f"open:{campaign_id}"}


def join_option(token: str) -> dict:
    return {"group": f"join:{token}"}


def _choice(options: Mapping | None) -> tuple[str, str] | None:
    """("open", campaign id) or ("join", token) from the buyer's options."""
    value = (options or {}).get("group")
    if not isinstance(value, str):
        return None
    kind, _sep, rest = value.partition(":")
    if kind not in ("open", "join") or not rest:
        return None
    return kind, rest


# --- reads ---------------------------------------------------------------------


def running_campaigns(*, at: datetime | None = None):
    at = at or timezone.now()
    return GroupBuyCampaign.objects.filter(
        is_active=True, starts_at__lte=at, ends_at__gt=at
    )


def running_campaign(*, sku_id: int, at: datetime | None = None):
    """The SKU's campaign running now, or None (also None when switched off)."""
    if not is_enabled(CODE):
        return None
    return (
        running_campaigns(at=at)
        .filter(sku_id=sku_id)
        .select_related("sku")
        .order_by("ends_at")
        .first()
    )


def joinable_groups(*, campaign: GroupBuyCampaign, at: datetime | None = None):
    """Open groups of the campaign with a seat left, closest to filling first."""
    at = at or timezone.now()
    return (
        BuyerGroup.objects.filter(campaign=campaign, state=Group.OPEN, deadline__gt=at)
        .filter(seats_taken__lt=F("size"))
        .select_related("leader")
        .order_by("deadline")[:OPEN_GROUPS_SHOWN]
    )


def group_by_token(token: str) -> BuyerGroup | None:
    if not token or len(token) > 32:
        return None
    return (
        BuyerGroup.objects.select_related("campaign__sku__product", "leader")
        .filter(token=token)
        .first()
    )


def group_of_order(*, order_id: int) -> BuyerGroup | None:
    member = (
        GroupMember.objects.filter(order_id=order_id)
        .select_related("group__campaign")
        .order_by("-id")
        .first()
    )
    return member.group if member else None


def seated_members(group: BuyerGroup) -> list[GroupMember]:
    return list(
        group.members.filter(left_at__isnull=True)
        .select_related("buyer")
        .order_by("id")
    )


def masked_name(user) -> str:
    """How other buyers see a member: the first and last character kept."""
    return mask_other(getattr(user, "username", "") or "") or "***"


def is_group_order(price_breakdown: Mapping | None) -> bool:
    """Whether an order's stored price breakdown has the group layer (every
    group order has it): pages and the paying path ask no query otherwise."""
    layers = (price_breakdown or {}).get("layers") or ()
    return any(layer.get("code") == LAYER for layer in layers)


# --- the price layer -------------------------------------------------------------


def _campaign_for(choice: tuple[str, str], *, sku_id: int, at: datetime):
    kind, value = choice
    if kind == "open":
        if not value.isdigit():
            return None
        return running_campaigns(at=at).filter(pk=int(value), sku_id=sku_id).first()
    group = (
        BuyerGroup.objects.select_related("campaign")
        .filter(token=value[:32], campaign__sku_id=sku_id)
        .first()
    )
    return group.campaign if group else None


def group_price_step(ctx: QuoteContext) -> None:
    """The group price for a buyer opening or joining a group on this SKU (a
    unit-price layer; never raises the price; nothing while switched off).
    Every group order has this layer in its price breakdown."""
    choice = _choice(ctx.options)
    if choice is None or not is_enabled(CODE):
        return
    campaign = _campaign_for(choice, sku_id=ctx.sku.pk, at=ctx.at)
    if campaign is None:
        return
    # Always a line, so the order shows it is a group order (is_group_order),
    # but never above the price so far (a lower member price stays).
    ctx.apply(
        LAYER,
        LAYER_LABELS[LAYER],
        min(campaign.group_price, ctx.unit_price),
        _("Group of %(n)s") % {"n": campaign.group_size},
    )


# --- seats -----------------------------------------------------------------------


def _refuse(message: str, **extra) -> GroupBuyRefused:
    return GroupBuyRefused(message, **extra)


def _new_token() -> str:
    return secrets.token_urlsafe(12)[:16]


def _open_group(*, campaign_id: str, order: OrderRef, now) -> BuyerGroup:
    campaign = (
        running_campaigns(at=now)
        .filter(pk=int(campaign_id) if campaign_id.isdigit() else 0)
        .first()
    )
    if campaign is None or campaign.sku_id != order.sku_id:
        raise _refuse(_("This group buy has ended."), field="group")
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return BuyerGroup.objects.create(
                    campaign=campaign,
                    token=_new_token(),
                    leader_id=order.buyer_id,
                    size=campaign.group_size,
                    seats_taken=0,
                    opened_at=now,
                    deadline=now + campaign.duration,
                )
        except IntegrityError:
            continue  # a token drawn twice: draw again
    raise RuntimeError("could not draw a free group token")


def _locked_group(token: str, *, order: OrderRef) -> BuyerGroup:
    group = (
        BuyerGroup.objects.select_for_update(of=("self",))
        .select_related("campaign")
        .filter(token=token[:32])
        .first()
    )
    if group is None or group.campaign.sku_id != order.sku_id:
        raise _refuse(_("This group does not exist."), field="group")
    return group


def join_refusal(*, group: BuyerGroup, buyer_id: int | None, now) -> str | None:
    """Why this buyer may not join this group now, or None (the group page and
    the claim ask the same)."""
    if group.state == Group.FILLED or group.seats_taken >= group.size:
        return _("This group is already full: open a group of your own.")
    if group.state == Group.FAILED or group.deadline <= now:
        return _("This group has expired: open a group of your own.")
    if (
        buyer_id is not None
        and GroupMember.objects.filter(
            group=group, buyer_id=buyer_id, left_at__isnull=True
        ).exists()
    ):
        return _("You are already in this group.")
    return None


def claim_group_seat(
    *, order: OrderRef, quote: PriceQuote, options: Mapping | None
) -> None:
    """The benefits claim: open a group or take a seat, in the order's
    transaction. The group's row lock makes two buyers racing for the last seat
    take turns: the second finds it full and its order is refused (nothing
    paid)."""
    choice = _choice(options)
    if choice is None:
        return
    if not is_enabled(CODE):
        raise _refuse(_("Group buy is not available right now."), field="group")
    if order.buyer_id is None:
        raise _refuse(_("Log in to open or join a group buy."), field="group")
    if order.quantity != 1:
        raise _refuse(_("A group buy order is for one item."), field="quantity")
    kind, value = choice
    now = timezone.now()
    if kind == "open":
        group = _open_group(campaign_id=value, order=order, now=now)
        group = BuyerGroup.objects.select_for_update().get(pk=group.pk)
    else:
        group = _locked_group(value, order=order)
        if not group.campaign.is_active:
            raise _refuse(_("This group buy has ended."), field="group")
        refusal = join_refusal(group=group, buyer_id=order.buyer_id, now=now)
        if refusal:
            raise _refuse(refusal, field="group")
    GroupMember.objects.create(
        group=group,
        buyer_id=order.buyer_id,
        order_id=order.order_id,
        order_no=order.order_no,
        joined_at=now,
    )
    group.seats_taken += 1
    group.save(update_fields=["seats_taken"])


@dataclass(frozen=True)
class SeatOutcome:
    """What a paid group order does now: wait, deliver (with the other members'
    orders when it filled the group), or be refunded (its group failed)."""

    state: str  # "waiting", "deliver" or "failed"
    deliver_order_ids: tuple[int, ...] = field(default=())


NOT_A_GROUP_ORDER = SeatOutcome("deliver")


def seat_paid(*, order_id: int) -> SeatOutcome:
    """In the paying transaction: record the member as paid and say what to do.
    The group fills when every seat is taken by a paid member; then the other
    members' order ids come back for delivery, exactly once (the group's lock
    and its state make a second payment see FILLED and deliver only itself)."""
    member = (
        GroupMember.objects.filter(order_id=order_id, left_at__isnull=True)
        .order_by("-id")
        .first()
    )
    if member is None:
        return NOT_A_GROUP_ORDER
    group = BuyerGroup.objects.select_for_update().get(pk=member.group_id)
    if group.state == Group.FILLED:
        return NOT_A_GROUP_ORDER
    if group.state == Group.FAILED:
        return SeatOutcome("failed")
    now = timezone.now()
    if member.paid_at is None:
        member.paid_at = now
        member.save(update_fields=["paid_at"])
    seated = group.members.filter(left_at__isnull=True)
    if (
        group.seats_taken < group.size
        or group.deadline <= now  # too late to fill: the beat task refunds it
        or seated.filter(paid_at__isnull=True).exists()
    ):
        return SeatOutcome("waiting")
    group.state, group.closed_at = Group.FILLED, now
    group.save(update_fields=["state", "closed_at"])
    others = seated.exclude(order_id=order_id).order_by("order_id")
    return SeatOutcome("deliver", tuple(others.values_list("order_id", flat=True)))


def release_group_seat(*, order_id: int, reason: str) -> None:
    """The benefits release: a cancelled or refunded order leaves its group
    while the group is open (the seat is free again). A filled or failed
    group keeps its members. Idempotent."""
    member = (
        GroupMember.objects.filter(order_id=order_id, left_at__isnull=True)
        .order_by("-id")
        .first()
    )
    if member is None:
        return
    group = BuyerGroup.objects.select_for_update().get(pk=member.group_id)
    if group.state != Group.OPEN:
        return
    member.left_at = timezone.now()
    member.save(update_fields=["left_at"])
    group.seats_taken = max(group.seats_taken - 1, 0)
    group.save(update_fields=["seats_taken"])


def expired_group_ids(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    """Open groups past their deadline (the partial index's scan)."""
    now = now or timezone.now()
    return list(
        BuyerGroup.objects.filter(state=Group.OPEN, deadline__lte=now)
        .order_by("deadline")
        .values_list("pk", flat=True)[:limit]
    )


def fail_group(*, group_id: int, now: datetime | None = None) -> list[int] | None:
    """In the caller's transaction: mark an open, expired group failed and
    return its members' order ids (to refund), or None when another worker
    holds it or it is no longer open and expired (filled meanwhile, failed by
    an earlier run): then nothing is to be done."""
    now = now or timezone.now()
    group = (
        BuyerGroup.objects.select_for_update(skip_locked=True)
        .filter(pk=group_id, state=Group.OPEN, deadline__lte=now)
        .first()
    )
    if group is None:
        return None
    group.state, group.closed_at = Group.FAILED, now
    group.save(update_fields=["state", "closed_at"])
    return list(
        group.members.filter(left_at__isnull=True)
        .order_by("order_id")
        .values_list("order_id", flat=True)
    )


register_price_step(group_price_step, position=35)
register_benefit(
    Benefit(
        module=CODE,
        layers=(LAYER,),
        claim=claim_group_seat,
        release=release_group_seat,
    )
)
