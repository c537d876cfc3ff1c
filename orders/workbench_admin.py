"""What the order workbench adds to the order page (OrderAdmin's change form,
templates/admin/orders/order/change_form.html): the actions this member of staff
may take (each on a reason-and-confirm page), the buyer's risk flag, the
delivered card codes masked (a reveal is its own audited page) and the buyer's
recent orders. A fixed number of queries, whatever the order's history.
"""

from __future__ import annotations

from catalog.models import CardCode
from orders.models import Order
from orders.risk import flag_for
from orders.workbench_views import order_actions

REVEAL_PERMISSION = "catalog.reveal_cardcode"
RECENT_ORDERS = 10


def delivered_code_rows(order: Order) -> list[CardCode]:
    """The order's card codes in the order they were taken; the page shows
    each one's `hint` (the ends only), never the code."""
    ids = order.delivery.get("code_ids", []) if isinstance(order.delivery, dict) else []
    codes = CardCode.objects.only("pk", "hint", "status").in_bulk(set(ids))
    return [codes[pk] for pk in ids if pk in codes]


def recent_orders(order: Order) -> list[Order]:
    if not order.buyer_id:
        return []
    return list(
        Order.objects.filter(buyer_id=order.buyer_id)
        .exclude(pk=order.pk)
        .select_related("sku__product")
        .only(
            "order_no",
            "status",
            "amount",
            "created_at",
            "sku__name",
            "sku__product__name",
        )
        .order_by("-id")[:RECENT_ORDERS]
    )


class WorkbenchOrderPanels:
    """For OrderAdmin: the workbench panels in the change form's context."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if order is not None:
            context.update(
                workbench_actions=order_actions(request.user, order),
                delivered_codes=delivered_code_rows(order),
                may_reveal=request.user.has_perm(REVEAL_PERMISSION),
                recent_orders=recent_orders(order),
                workbench_order=order,
                risk_flag=flag_for(order.buyer) if order.buyer_id else None,
            )
        return super().change_view(request, object_id, form_url, context)
