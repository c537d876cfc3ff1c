"""Contacts on the page of one order or ticket (issue 15): in full, and one
"contact.view" audit row, only for the agent handling it (an unresolved ticket
about the order assigned to them) and for finance / the super admin; every
other agent sees them masked with the reason, and nothing is recorded."""

import pytest
from django.urls import reverse

from kameng.models import AuditEntry
from orders.aftersales import assign_ticket, handles_order, transition_ticket
from orders.models import Ticket
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer
from tests.orders.workbench_helpers import make_order

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
EMAIL = "alice@qq.com"
GUEST = "guest.bob@163.com"
HINT = "仅处理该订单的客服可查看完整联系方式"


@pytest.fixture
def shop(role_user):
    sku = make_sku()
    buyer = make_buyer(phone=PHONE, email=EMAIL)
    order = make_order(sku, buyer=buyer)
    handler = role_user("support", "agent-on-it")
    ticket = Ticket.objects.create(
        kind=Ticket.Kind.INQUIRY, order=order, buyer=buyer, subject="没收到卡密"
    )
    assign_ticket(ticket=ticket, assignee=handler, actor=handler)
    return {
        "sku": sku,
        "buyer": buyer,
        "order": order,
        "ticket": ticket,
        "handler": handler,
        "other": role_user("support", "agent-elsewhere"),
    }


def views():
    return AuditEntry.objects.filter(action="contact.view")


def get(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def order_page(client, user, order) -> str:
    return get(client, user, reverse("admin:orders_order_change", args=[order.pk]))


def ticket_page(client, user, ticket) -> str:
    return get(client, user, reverse("orders:ticket_reply", args=[ticket.pk]))


def test_the_agent_handling_the_order_sees_it_in_full_and_is_recorded(client, shop):
    html = order_page(client, shop["handler"], shop["order"])
    assert PHONE in html and EMAIL in html
    assert HINT not in html
    (entry,) = views()
    assert entry.actor_id == shop["handler"].pk
    assert entry.object_id == str(shop["order"].pk)
    assert entry.after == {"fields": ["phone", "email"]}


def test_another_agent_sees_it_masked_with_why_and_nothing_is_recorded(client, shop):
    html = order_page(client, shop["other"], shop["order"])
    assert PHONE not in html and EMAIL not in html
    assert "138****5678" in html and "a***@qq.com" in html
    assert HINT in html
    assert not views().exists()


def test_an_unassigned_ticket_is_nobodys_until_taken(client, shop):
    """The open ticket queue: the agent takes it ("分配给我"), then sees."""
    other, order = shop["other"], shop["order"]
    Ticket.objects.filter(pk=shop["ticket"].pk).update(assignee=None)
    assert PHONE not in order_page(client, other, order)
    client.post(reverse("orders:ticket_reply", args=[shop["ticket"].pk]), {"take": "1"})
    assert PHONE in order_page(client, other, order)
    assert views().get().actor_id == other.pk


def test_a_resolved_ticket_no_longer_opens_the_contacts(client, shop):
    handler, ticket = shop["handler"], shop["ticket"]
    transition_ticket(ticket=ticket, to=Ticket.Status.RESOLVED, actor=handler)
    assert not handles_order(handler, shop["order"])
    html = order_page(client, handler, shop["order"])
    assert PHONE not in html and HINT in html
    assert not views().exists()


def test_handling_one_order_opens_no_other_order_of_the_same_buyer(client, shop):
    second = make_order(shop["sku"], buyer=shop["buyer"])
    html = order_page(client, shop["handler"], second)
    assert PHONE not in html and HINT in html
    assert not views().exists()


@pytest.mark.parametrize("role", ["finance", "superadmin"])
def test_finance_and_the_super_admin_see_every_order_in_full(
    client, role_user, shop, role
):
    user = role_user(role)
    html = order_page(client, user, shop["order"])
    assert PHONE in html and EMAIL in html and HINT not in html
    guest = make_order(shop["sku"], contact=GUEST)
    assert GUEST in order_page(client, user, guest)
    assert views().filter(actor=user).count() == 2


def test_operations_lead_sees_masked_unless_handling(client, role_user, shop):
    lead = role_user("operations")
    assert PHONE not in order_page(client, lead, shop["order"])
    assign_ticket(ticket=shop["ticket"], assignee=lead, actor=lead)
    assert PHONE in order_page(client, lead, shop["order"])
    # the ticket left the first agent: the order is no longer theirs
    assert PHONE not in order_page(client, shop["handler"], shop["order"])


def test_ticket_page_follows_the_same_rule(client, shop):
    ticket = shop["ticket"]
    html = ticket_page(client, shop["handler"], ticket)
    assert PHONE in html and EMAIL in html
    entry = views().get()
    assert entry.object_id == str(shop["order"].pk)  # recorded on the order
    assert f"#{ticket.pk}" in entry.note

    # an agent who reads the unassigned queue cannot read this one at all;
    # unassign it so they can open the page, and it is still masked for them
    Ticket.objects.filter(pk=ticket.pk).update(assignee=None)
    html = ticket_page(client, shop["other"], ticket)
    assert PHONE not in html and "138****5678" in html and HINT in html
    assert views().count() == 1


def test_ticket_without_an_order_shows_the_buyers_own_contacts(client, role_user, shop):
    agent = shop["other"]
    ticket = Ticket.objects.create(
        kind=Ticket.Kind.INQUIRY, buyer=shop["buyer"], subject="怎么开发票"
    )
    assert PHONE not in ticket_page(client, agent, ticket)
    assign_ticket(ticket=ticket, assignee=agent, actor=agent)
    assert PHONE in ticket_page(client, agent, ticket)
    entry = views().get()
    assert entry.content_type.model == "ticket"
    assert entry.object_id == str(ticket.pk)


def test_guest_order_masked_for_other_agents(client, shop):
    guest = make_order(shop["sku"], contact=GUEST)
    html = order_page(client, shop["other"], guest)
    assert GUEST not in html and "g***@163.com" in html
    assert not views().exists()
