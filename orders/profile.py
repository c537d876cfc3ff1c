"""The customer profile: one back-office page per buyer.

It lives in orders, not users, because it shows the buyer's orders and products
and users may not import what sits above it (docs/architecture.md). What users
knows (level, growth, level changes, wallet, logins, browse trail, favourites,
active hours) comes from users.selectors.buyer_profile; orders adds the recent
orders and the names of the products viewed and favourited. No cost data: the
page shows what the buyer paid, never what a code or a top-up cost us.
The page reads a fixed number of queries whatever the buyer's history.
"""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from catalog.models import Product
from kameng.admin_pages import render_page, staff_page
from marketing.selectors import rfm_of, segments_of
from orders.models import Order, RefundRequest, Ticket
from orders.risk import flag_for
from users.models import User
from users.selectors import PROFILE_ROWS, buyer_profile
from users.tracking import mask_ip

PERMISSION = "users.view_buyer"
MONEY_PERMISSION = "users.view_wallet"
TICKETS_PERMISSION = "orders.view_ticket"
REFUNDS_PERMISSION = "orders.view_refundrequest"
CHART_HEIGHT = 60  # px of the tallest bar of the active-hours chart


def hour_bars(hours: list[int]) -> list[dict]:
    """Bars of the active-hours chart, drawn as SVG rects (no script)."""
    top = max(hours) or 1
    bars = []
    for hour, count in enumerate(hours):
        height = round(CHART_HEIGHT * count / top)
        bars.append(
            {"hour": hour, "count": count, "height": height, "y": CHART_HEIGHT - height}
        )
    return bars


@staff_page(PERMISSION)
def buyer_profile_page(request, pk: int):
    try:
        profile = buyer_profile(
            user_id=pk, with_money=request.user.has_perm(MONEY_PERMISSION)
        )
    except User.DoesNotExist:
        raise Http404 from None
    orders = list(
        Order.objects.filter(buyer_id=pk)
        .select_related("sku__product")
        .only(
            "order_no",
            "status",
            "amount",
            "refunded_amount",
            "payment_method",
            "created_at",
            "quantity",
            "sku__name",
            "sku__product__name",
        )
        .order_by("-id")[:PROFILE_ROWS]
    )
    tickets = refunds = None
    if request.user.has_perm(TICKETS_PERMISSION):
        tickets = list(
            Ticket.objects.filter(Q(buyer_id=pk) | Q(order__buyer_id=pk))
            .select_related("order")
            .order_by("-id")[:PROFILE_ROWS]
        )
    if request.user.has_perm(REFUNDS_PERMISSION):
        refunds = list(
            RefundRequest.objects.filter(order__buyer_id=pk)
            .select_related("order")
            .order_by("-id")[:PROFILE_ROWS]
        )
    product_ids = {v.product_id for v in profile.views} | {
        f.product_id for f in profile.favourites
    }
    names = dict(Product.objects.filter(pk__in=product_ids).values_list("pk", "name"))
    payment_labels = dict(Order.PaymentMethod.choices)
    return render_page(
        request,
        "users/profile.html",
        {
            "profile": profile,
            "buyer": profile.user,
            "orders": orders,
            "tickets": tickets,
            "refunds": refunds,
            "trail": [(v, names.get(v.product_id, "—")) for v in profile.views],
            "favourites": [
                (f, names.get(f.product_id, "—")) for f in profile.favourites
            ],
            "logins": [(e, mask_ip(e.ip)) for e in profile.logins],
            "preferred_payment": payment_labels.get(profile.preferred_payment, ""),
            "segments": segments_of(user_id=pk),  # marketing
            "rfm": rfm_of(user_id=pk),
            "risk_flag": flag_for(profile.user),  # risk
            "bars": hour_bars(profile.hours),
            "chart_height": CHART_HEIGHT,
            "with_money": request.user.has_perm(MONEY_PERMISSION),
            "page_id": "buyer-profile",
        },
        title=_("Customer profile: %(name)s") % {"name": profile.user},
    )
