"""After-sales rules: what may be done for a ticket, from the operators' rule
for its order's delivery type and its own type (AfterSalesRule, edited in the
back office; defaults from migration 0009).

The one place that decides which actions a ticket page offers:

- a delivered card code is reissued (补发), not refunded, until staff have
  checked it and marked it invalid (`refund_needs_invalid_codes`);
- a failed top-up is refunded;
- a manual item does what its rule says.

Permissions come on top: an action the rule allows is shown to whoever may take
it; others read who does (a refund is finance's).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from catalog.models import CardCode
from orders.models import AfterSalesRule, Order, Ticket
from orders.refunds import REFUND_PERMISSION, delivered_code_ids, refundable_left
from orders.reissues import REISSUE_PERMISSION, REISSUE_STATES, open_invalidations

# The shop's starting rules: (delivery type, ticket type) → allow reissue, allow
# refund, refund only after the codes are found invalid, what the buyer is told.
# Migration 0009 created the rows from its own frozen copy of this table;
# create_default_rules() puts back any that are missing (tests that flush the
# database, a shop that deleted one by mistake).
CARD_NOTE = (
    "卡密类商品发货后不直接退款：客服核实后为您补发新卡密；"
    "如经核实卡密确属无效且无法补发，将为您退款。"
)
TOPUP_NOTE = "充值失败或未到账的订单，经核实后退回您的钱包余额。"
MANUAL_NOTE = "人工发货商品的售后由客服按店铺规则处理，结果会在工单中告知您。"
KINDS = ("refund", "reissue", "complaint", "inquiry", "abnormal")
DEFAULT_RULES = [
    *(("card", kind, True, True, True, CARD_NOTE) for kind in KINDS),
    *(("topup", kind, False, True, False, TOPUP_NOTE) for kind in KINDS),
    ("manual", "refund", False, True, False, MANUAL_NOTE),
    ("manual", "reissue", False, False, False, MANUAL_NOTE),
    ("manual", "complaint", False, True, False, MANUAL_NOTE),
    ("manual", "inquiry", False, False, False, MANUAL_NOTE),
    ("manual", "abnormal", False, True, False, MANUAL_NOTE),
]


def create_default_rules() -> int:
    """Create the default rules that are missing; never touches existing ones.
    Returns how many were created."""
    created = 0
    for delivery, kind, reissue, refund, needs_invalid, note in DEFAULT_RULES:
        _rule, made = AfterSalesRule.objects.get_or_create(
            delivery_type=delivery,
            ticket_kind=kind,
            defaults={
                "allow_reissue": reissue,
                "allow_refund": refund,
                "refund_needs_invalid_codes": needs_invalid,
                "buyer_note": note,
            },
        )
        created += made
    return created


@dataclass(frozen=True)
class TicketActions:
    """What the rule allows on one ticket now, and why not when it does not."""

    rule: AfterSalesRule | None
    reissue: bool = False
    mark_invalid: bool = False
    refund: bool = False
    # The rule would refund once the codes are found invalid.
    refund_after_check: bool = False
    explanation: str = ""

    @property
    def any(self) -> bool:
        return self.reissue or self.mark_invalid or self.refund


def rule_for(*, delivery_type: str, kind: str) -> AfterSalesRule | None:
    return AfterSalesRule.objects.filter(
        delivery_type=delivery_type, ticket_kind=kind
    ).first()


def _sold_codes(order: Order) -> int:
    ids = delivered_code_ids(order)
    if not ids:
        return 0
    return CardCode.objects.filter(pk__in=ids, status=CardCode.Status.SOLD).count()


def ticket_actions(ticket: Ticket) -> TicketActions:
    """The actions `ticket`'s rule allows on its order as it stands."""
    order = ticket.order
    if order is None:
        return TicketActions(rule=None, explanation=_("This ticket has no order."))
    delivery = order.sku.delivery_type
    rule = rule_for(delivery_type=delivery, kind=ticket.kind)
    if rule is None:
        return TicketActions(
            rule=None,
            explanation=_(
                "No after-sales rule for this delivery type and ticket type: "
                "an operator sets one under After-sales rules."
            ),
        )
    money_left = order.buyer_id is not None and refundable_left(order) > 0
    card = delivery == "card" and bool(delivered_code_ids(order))
    codes_open = card and order.status in REISSUE_STATES and not order.sku.reusable_code
    sold = _sold_codes(order) if codes_open else 0
    found_invalid = codes_open and open_invalidations(order).exists()
    reissue = rule.allow_reissue and codes_open and (sold > 0 or found_invalid)
    mark_invalid = (
        codes_open
        and sold > 0
        and (rule.allow_reissue or rule.allow_refund)
        and rule.refund_needs_invalid_codes
    )
    checked = not (card and rule.refund_needs_invalid_codes) or found_invalid
    refund = rule.allow_refund and money_left and checked
    return TicketActions(
        rule=rule,
        reissue=reissue,
        mark_invalid=mark_invalid,
        refund=refund,
        refund_after_check=rule.allow_refund and money_left and not checked,
        explanation=_explain(order, rule, money_left=money_left),
    )


def _explain(order: Order, rule: AfterSalesRule, *, money_left: bool) -> str:
    if not money_left and rule.allow_refund and order.refunded_amount:
        return _("This order has already been refunded.")
    return rule.buyer_note


def can_take(user, actions: TicketActions) -> dict[str, bool]:
    """Which of the allowed actions `user` may take themselves."""
    reissuer = user.has_perm(REISSUE_PERMISSION)
    return {
        "reissue": actions.reissue and reissuer,
        "mark_invalid": actions.mark_invalid and reissuer,
        "refund": actions.refund and user.has_perm(REFUND_PERMISSION),
    }


def buyer_note(ticket: Ticket) -> str:
    """What the buyer's ticket page says will happen and why."""
    if ticket.order is None:
        return ""
    rule = rule_for(delivery_type=ticket.order.sku.delivery_type, kind=ticket.kind)
    return rule.buyer_note if rule else ""
