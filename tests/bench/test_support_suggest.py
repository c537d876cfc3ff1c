"""`bench support_suggest`: leave-one-out over answered tickets, last line JSON."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders.models import CannedReply, Ticket
from orders.replies import reply_on_ticket
from tests.orders.aftersales_helpers import delivered_card_order
from tests.orders.support_helpers import buyer_ticket

pytestmark = pytest.mark.django_db


def answered(reply, question, agent):
    ticket = buyer_ticket(delivered_card_order(quantity=1), body=question)
    reply_on_ticket(
        ticket=ticket,
        actor=agent,
        body=reply.body,
        status=Ticket.Status.RESOLVED,
        canned=reply,
    )


def test_the_bench_reports_the_top3_hit_rate(capsys, role_user):
    agent = role_user("support")
    invalid = CannedReply.objects.create(
        title="卡密无效", keywords="卡密 无效", body="补发"
    )
    invoice = CannedReply.objects.create(
        title="发票", keywords="发票 报销", body="开票"
    )
    answered(invalid, "卡密提示无效", agent)
    answered(invalid, "卡密用不了，无效", agent)
    answered(invoice, "报销要开发票", agent)
    call_command("bench", "support_suggest", "--repeat", "1")
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["tickets"] == 3
    assert figures["top3_hit_rate"] == 1.0


def test_without_answered_tickets_the_bench_says_what_to_do():
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("bench", "support_suggest")
