"""Group buy (拼团) on shop pages that other slices own: the offer on a
product page and the group's state on an order page. Both show nothing while
the module is switched off."""

from django import template
from django.utils import timezone

from kameng.modules import is_enabled
from marketing.group_buy import (
    CODE,
    group_of_order,
    is_group_order,
    joinable_groups,
    masked_name,
    running_campaign,
)

register = template.Library()


@register.inclusion_tag("shop/_group_buy_offer.html", takes_context=True)
def group_buy_offer(context, sku):
    """ "发起拼团 ¥x" and the open groups to join, for a SKU with a running
    campaign."""
    campaign = running_campaign(sku_id=sku.pk) if sku is not None else None
    if campaign is None:
        return {"campaign": None}
    now = timezone.now()
    return {
        "campaign": campaign,
        "groups": [
            {
                "group": group,
                "leader": masked_name(group.leader),
                "minutes_left": max(
                    int((group.deadline - now).total_seconds()) // 60, 0
                ),
            }
            for group in joinable_groups(campaign=campaign, at=now)
        ],
        "user": context.get("user"),
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("shop/_group_buy_order.html")
def group_buy_order(order):
    """The group an order belongs to, with a link to its page."""
    if not is_enabled(CODE) or not is_group_order(order.price_breakdown):
        return {"group": None}  # most orders: no query
    return {"group": group_of_order(order_id=order.pk), "order": order}
