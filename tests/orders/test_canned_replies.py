"""Canned replies: placeholders filled in per ticket, unknown ones refused when a
support lead saves the template, one click from the ticket page into the reply
box, and the use recorded with the answer."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from orders.models import CannedReply, CannedReplyUse
from orders.replies import check_template, render_reply
from tests.orders.aftersales_helpers import delivered_card_order
from tests.orders.support_helpers import buyer_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def reply():
    return CannedReply.objects.create(
        title="卡密无效",
        body="{买家} 您好，订单 {订单号}（{商品}）的卡密我们已核实，将为您补发。",
    )


def test_placeholders_are_filled_in_for_the_ticket(reply):
    order = delivered_card_order(quantity=1)
    ticket = buyer_ticket(order)
    text = render_reply(reply, ticket)
    product = f"{order.sku.product.name} {order.sku.name}"
    assert text == (
        f"{order.buyer.username} 您好，订单 {order.order_no}（{product}）"
        "的卡密我们已核实，将为您补发。"
    )


def test_english_aliases_fill_in_too(reply):
    reply.body = "Order {order_no} for {buyer}"
    ticket = buyer_ticket(delivered_card_order(quantity=1))
    assert render_reply(reply, ticket) == (
        f"Order {ticket.order.order_no} for {ticket.buyer.username}"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "您好 {用户名}",
            "未知的占位符 {用户名}。可用的占位符：{订单号}、{买家}、{商品}。",
        ),
        ("订单 {订单号", "花括号不成对"),
        ("订单 订单号}", "花括号不成对"),
    ],
)
def test_a_bad_placeholder_is_refused_with_what_is_available(text, message):
    with pytest.raises(ValidationError, match=message):
        check_template(text)


def test_a_good_template_passes():
    check_template("{买家} 您好，订单 {订单号} 的 {商品} 已处理。")


def test_the_admin_refuses_an_unknown_placeholder(client, role_user):
    client.force_login(role_user("operations"))
    response = client.post(
        reverse("admin:orders_cannedreply_add"),
        {
            "title": "发票",
            "body": "您好 {昵称}，发票三个工作日内开出。",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "未知的占位符 {昵称}" in response.content.decode()
    assert not CannedReply.objects.exists()


def test_support_may_use_but_not_edit_canned_replies(client, role_user, reply):
    client.force_login(role_user("support"))
    add = client.get(reverse("admin:orders_cannedreply_add"))
    assert add.status_code == 403


def test_one_click_puts_the_filled_reply_into_the_box_and_the_use_is_kept(
    client, role_user, reply
):
    order = delivered_card_order(quantity=1)
    ticket = buyer_ticket(order)
    client.force_login(role_user("support"))
    url = reverse("orders:ticket_reply", args=[ticket.pk])
    page = client.get(url, {"reply": reply.pk}).content.decode()
    assert f"订单 {order.order_no}" in page
    assert f'name="canned" value="{reply.pk}"' in page

    client.post(
        url,
        {
            "body": render_reply(reply, ticket),
            "status": "pending",
            "canned": reply.pk,
        },
    )
    use = CannedReplyUse.objects.get()
    assert (use.ticket, use.reply) == (ticket, reply)
    assert use.message.body.startswith(order.buyer.username)


def test_an_internal_remark_is_not_counted_as_a_use(client, role_user, reply):
    ticket = buyer_ticket(delivered_card_order(quantity=1))
    client.force_login(role_user("support"))
    client.post(
        reverse("orders:ticket_reply", args=[ticket.pk]),
        {
            "body": "内部备注",
            "internal": "on",
            "status": "in_progress",
            "canned": reply.pk,
        },
    )
    assert ticket.messages.count() == 2
    assert not CannedReplyUse.objects.exists()


def test_support_reads_a_canned_reply_in_the_admin(client, role_user, reply):
    client.force_login(role_user("support"))
    page = client.get(reverse("admin:orders_cannedreply_change", args=[reply.pk]))
    assert page.status_code == 200
    assert "{买家} 您好" in page.content.decode()
