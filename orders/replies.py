"""Canned replies: the placeholders a template may name, the check made when a
support lead saves one, filling one in for a ticket, and the reply that starts
from one (recorded, so the suggestions learn which answer solved which
question)."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from orders.aftersales import staff_reply
from orders.models import CannedReply, CannedReplyUse, Ticket, TicketMessage


def _order_no(ticket: Ticket) -> str:
    return ticket.order.order_no if ticket.order_id else "—"


def _buyer_name(ticket: Ticket) -> str:
    buyer = ticket.buyer or (ticket.order.buyer if ticket.order_id else None)
    if buyer is None:
        return _("customer")
    return buyer.get_full_name() or buyer.get_username()


def _product(ticket: Ticket) -> str:
    if not ticket.order_id:
        return "—"
    sku = ticket.order.sku
    return f"{sku.product.name} {sku.name}".strip()


# Placeholder → what fills it. Chinese names, so support leads write them as they
# read; the English aliases are for templates pasted from elsewhere.
PLACEHOLDERS: dict[str, Callable[[Ticket], str]] = {
    "订单号": _order_no,
    "买家": _buyer_name,
    "商品": _product,
    "order_no": _order_no,
    "buyer": _buyer_name,
    "product": _product,
}
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def placeholder_help() -> str:
    return "、".join(f"{{{name}}}" for name in ("订单号", "买家", "商品"))


def check_template(text: str) -> None:
    """Refuse a template naming a placeholder that does not exist, or with a
    brace that opens or closes nothing, saying which and what is available."""
    unknown = [
        name for name in PLACEHOLDER.findall(text) if name.strip() not in PLACEHOLDERS
    ]
    if unknown:
        raise ValidationError(
            _("Unknown placeholder %(names)s. Available: %(available)s.")
            % {
                "names": "、".join(f"{{{name}}}" for name in dict.fromkeys(unknown)),
                "available": placeholder_help(),
            },
            code="unknown_placeholder",
        )
    if "{" in PLACEHOLDER.sub("", text) or "}" in PLACEHOLDER.sub("", text):
        raise ValidationError(
            _(
                "A brace is not closed: write placeholders as %(available)s, "
                "each in one pair of braces."
            )
            % {"available": placeholder_help()},
            code="unbalanced_brace",
        )


def render_reply(reply: CannedReply, ticket: Ticket) -> str:
    """The reply's text with its placeholders filled in for `ticket`."""
    return PLACEHOLDER.sub(
        lambda match: PLACEHOLDERS[match.group(1).strip()](ticket), reply.body
    )


def active_replies():
    return CannedReply.objects.filter(is_active=True).order_by("title")


@transaction.atomic
def reply_on_ticket(
    *,
    ticket: Ticket,
    actor,
    body: str,
    internal: bool = False,
    status: str | None = None,
    canned: CannedReply | None = None,
) -> TicketMessage:
    """Staff answer a ticket (orders.aftersales.staff_reply); when the answer
    started from a canned reply, that is recorded with it."""
    message = staff_reply(
        ticket=ticket, actor=actor, body=body, internal=internal, status=status
    )
    if canned is not None and not internal:
        CannedReplyUse.objects.create(reply=canned, ticket=ticket, message=message)
    return message
