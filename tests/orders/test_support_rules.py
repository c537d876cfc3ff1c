"""After-sales rules per delivery type: a card code is reissued, not refunded,
until staff mark it invalid; a failed top-up is refunded; a manual item does
what the operators' rule says. The ticket page offers exactly those actions."""

import uuid

import pytest
from django.urls import reverse

from catalog.models import CardCode
from orders.models import AfterSalesRule, Ticket
from orders.reissues import mark_codes_invalid
from orders.rules import DEFAULT_RULES, create_default_rules, ticket_actions
from tests.orders.aftersales_helpers import delivered_card_order
from tests.orders.factories import stock_codes
from tests.orders.support_helpers import (
    buyer_ticket,
    delivered_manual_order,
    delivered_topup_order,
    failed_topup_order,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(role_user):
    return role_user("support")


@pytest.fixture
def operations(role_user):
    return role_user("operations")


def allowed(ticket):
    actions = ticket_actions(ticket)
    return {
        name for name in ("reissue", "mark_invalid", "refund") if getattr(actions, name)
    }


def test_every_delivery_type_and_ticket_type_has_a_default_rule():
    pairs = set(AfterSalesRule.objects.values_list("delivery_type", "ticket_kind"))
    assert pairs == {
        (delivery, kind)
        for delivery in AfterSalesRule.DeliveryType.values
        for kind in Ticket.Kind.values
    }


def test_the_migration_created_the_default_rules_the_code_names():
    rows = AfterSalesRule.objects.values_list(
        "delivery_type",
        "ticket_kind",
        "allow_reissue",
        "allow_refund",
        "refund_needs_invalid_codes",
        "buyer_note",
    )
    assert set(rows) == set(DEFAULT_RULES)
    assert create_default_rules() == 0  # nothing missing, nothing overwritten


def test_a_delivered_card_code_is_reissued_not_refunded(support):
    ticket = buyer_ticket(delivered_card_order(quantity=1))
    assert allowed(ticket) == {"reissue", "mark_invalid"}
    assert ticket_actions(ticket).refund_after_check


def test_card_codes_marked_invalid_open_the_refund(support):
    order = delivered_card_order(quantity=1)
    ticket = buyer_ticket(order)
    mark_codes_invalid(
        order=order,
        code_ids=order.delivery["code_ids"],
        actor=support,
        reason="发卡方查询：已被使用",
        key=uuid.uuid4(),
        ticket=ticket,
    )
    assert allowed(ticket) == {"reissue", "refund"}
    assert CardCode.objects.get(pk=order.delivery["code_ids"][0]).status == "void"


def test_a_failed_top_up_was_refunded_and_offers_nothing_more():
    order = failed_topup_order()
    assert order.status == "refunded"
    ticket = buyer_ticket(order, body="充值失败了，钱退到哪里了？")
    assert allowed(ticket) == set()
    assert ticket_actions(ticket).explanation == "此订单已退款。"


def test_a_top_up_the_buyer_never_received_is_refunded_never_reissued(operations):
    ticket = buyer_ticket(delivered_topup_order(operations), body="话费没到账")
    assert allowed(ticket) == {"refund"}


def test_a_manual_item_follows_the_operators_rule(operations):
    order = delivered_manual_order(operations)
    refund_ticket = buyer_ticket(order)
    inquiry = buyer_ticket(order, kind=Ticket.Kind.INQUIRY, body="怎么登录？")
    assert allowed(refund_ticket) == {"refund"}
    assert allowed(inquiry) == set()

    AfterSalesRule.objects.filter(delivery_type="manual", ticket_kind="refund").update(
        allow_refund=False
    )
    AfterSalesRule.objects.filter(delivery_type="manual", ticket_kind="inquiry").update(
        allow_refund=True
    )
    assert allowed(refund_ticket) == set()
    assert allowed(inquiry) == {"refund"}


def test_an_operator_can_forbid_reissues_of_card_codes(support):
    order = delivered_card_order(quantity=1)
    ticket = buyer_ticket(order, kind=Ticket.Kind.REISSUE)
    AfterSalesRule.objects.filter(delivery_type="card", ticket_kind="reissue").update(
        allow_reissue=False, refund_needs_invalid_codes=False
    )
    assert allowed(ticket) == {"refund"}


def test_the_ticket_page_offers_the_rules_actions_to_support(client, support):
    order = delivered_card_order(quantity=1)
    stock_codes(order.sku, 1)
    ticket = buyer_ticket(order)
    client.force_login(support)
    page = client.get(reverse("orders:ticket_reply", args=[ticket.pk])).content.decode()
    assert 'data-testid="action-reissue"' in page
    assert 'data-testid="action-mark-invalid"' in page
    assert 'data-testid="action-refund"' not in page
    assert "须先核实" in page  # a refund waits for the check


def test_support_is_told_finance_refunds_a_top_up(client, support, operations):
    ticket = buyer_ticket(delivered_topup_order(operations), body="话费没到账")
    client.force_login(support)
    page = client.get(reverse("orders:ticket_reply", args=[ticket.pk])).content.decode()
    assert 'data-testid="refund-by-finance"' in page
    assert 'data-testid="action-refund"' not in page
    assert 'data-testid="action-reissue"' not in page


def test_who_may_refund_gets_the_refund_on_a_top_up_ticket(
    client, role_user, operations
):
    ticket = buyer_ticket(delivered_topup_order(operations), body="话费没到账")
    client.force_login(role_user("superadmin"))
    page = client.get(reverse("orders:ticket_reply", args=[ticket.pk])).content.decode()
    assert reverse("orders:refund", args=[ticket.order.pk]) in page


def test_the_reissue_page_refuses_what_the_rule_does_not_allow(
    client, support, operations
):
    ticket = buyer_ticket(delivered_topup_order(operations), body="话费没到账")
    client.force_login(support)
    response = client.get(
        reverse("orders:ticket_reissue", args=[ticket.pk]), follow=True
    )
    assert "此工单的售后规则现在不允许这样做" in response.content.decode()


def test_the_buyer_reads_the_rule_on_their_ticket(client):
    order = delivered_card_order(quantity=1)
    ticket = buyer_ticket(order)
    client.force_login(order.buyer)
    page = client.get(reverse("shop:ticket", args=[ticket.pk])).content.decode()
    assert "卡密类商品发货后不直接退款" in page


def test_a_rule_reissuing_anything_but_card_codes_is_refused_in_the_admin(
    client, operations
):
    rule = AfterSalesRule.objects.get(delivery_type="topup", ticket_kind="refund")
    client.force_login(operations)
    response = client.post(
        reverse("admin:orders_aftersalesrule_change", args=[rule.pk]),
        {
            "delivery_type": "topup",
            "ticket_kind": "refund",
            "allow_reissue": "on",
            "allow_refund": "on",
            "buyer_note": "x",
        },
    )
    assert response.status_code == 200
    assert "只有卡密可以补发" in response.content.decode()
    rule.refresh_from_db()
    assert not rule.allow_reissue
