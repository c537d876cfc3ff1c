"""Buyers' after-sales tickets: opened from an order, answered by support, the
status flow with its SLA times, attachments checked, what the buyer sees."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from orders.aftersales import (
    assign_ticket,
    buyer_reply,
    can_work_ticket,
    open_buyer_ticket,
    staff_reply,
    ticket_sla,
    transition_ticket,
)
from orders.exceptions import AttachmentRefused, TicketRefused
from orders.models import Ticket
from tests.orders.aftersales_helpers import delivered_card_order
from tests.orders.factories import make_buyer
from users.models import MemberLevel

pytestmark = pytest.mark.django_db
T = Ticket.Status


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Uploaded images land in a temporary folder, not the developer's var/."""
    settings.MEDIA_ROOT = tmp_path


def png(name="shot.png", size=(20, 20)) -> SimpleUploadedFile:
    data = io.BytesIO()
    Image.new("RGB", size, "red").save(data, "PNG")
    return SimpleUploadedFile(name, data.getvalue(), content_type="image/png")


@pytest.fixture
def order():
    return delivered_card_order()


@pytest.fixture
def buyer_client(client, order):
    client.force_login(order.buyer)
    return client


def test_buyer_opens_a_ticket_from_the_order_page(buyer_client, order):
    page = buyer_client.get(f"/shop/orders/{order.order_no}/")
    assert "申请售后" in page.content.decode()
    form = buyer_client.get(f"/shop/orders/{order.order_no}/aftersales/")
    assert "补发" in form.content.decode()
    response = buyer_client.post(
        f"/shop/orders/{order.order_no}/aftersales/",
        {"kind": "reissue", "body": "卡密提示已被使用", "attachment": png()},
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/shop/tickets/{ticket.pk}/"
    assert (ticket.kind, ticket.status, ticket.buyer) == (
        "reissue",
        T.OPEN,
        order.buyer,
    )
    assert ticket.order == order
    message = ticket.messages.get()
    assert message.body == "卡密提示已被使用"
    assert message.attachment.name.endswith(".png")
    detail = buyer_client.get(f"/shop/tickets/{ticket.pk}/").content.decode()
    assert "待处理" in detail or "已收到您的申请" in detail
    assert "卡密提示已被使用" in detail
    image = buyer_client.get(f"/shop/tickets/image/{message.pk}/")
    assert image["Content-Type"] == "image/png"
    listing = buyer_client.get("/shop/tickets/").content.decode()
    assert f"/shop/tickets/{ticket.pk}/" in listing


def test_nobody_opens_a_ticket_on_someone_elses_order(client, order):
    client.force_login(make_buyer())
    response = client.post(
        f"/shop/orders/{order.order_no}/aftersales/",
        {"kind": "refund", "body": "退钱"},
    )
    assert response.status_code == 404
    assert not Ticket.objects.exists()
    with pytest.raises(TicketRefused):
        open_buyer_ticket(order=order, buyer=make_buyer(), kind="refund", body="x")


def test_nobody_reads_someone_elses_ticket(client, order):
    ticket = open_buyer_ticket(
        order=order, buyer=order.buyer, kind="inquiry", body="多久到账"
    )
    client.force_login(make_buyer())
    assert client.get(f"/shop/tickets/{ticket.pk}/").status_code == 404
    message = ticket.messages.get()
    assert client.get(f"/shop/tickets/image/{message.pk}/").status_code == 404


def test_a_buyer_cannot_open_an_abnormal_order_ticket(order):
    with pytest.raises(TicketRefused):
        open_buyer_ticket(order=order, buyer=order.buyer, kind="abnormal", body="x")


@pytest.mark.parametrize(
    ("upload", "named"),
    [
        (SimpleUploadedFile("notes.png", b"just text", "image/png"), "notes.png"),
        (SimpleUploadedFile("run.exe", b"MZ\x90\x00", "image/jpeg"), "run.exe"),
    ],
)
def test_a_file_that_is_not_an_image_is_refused_by_name(
    buyer_client, order, upload, named
):
    response = buyer_client.post(
        f"/shop/orders/{order.order_no}/aftersales/",
        {"kind": "complaint", "body": "看图", "attachment": upload},
    )
    assert response.status_code == 200
    error = response.content.decode()
    assert f"{named} 不是 JPEG、PNG 或 WebP 图片" in error
    assert not Ticket.objects.exists()


def test_a_gif_is_refused(order):
    data = io.BytesIO()
    Image.new("RGB", (4, 4)).save(data, "GIF")
    with pytest.raises(AttachmentRefused, match="a.gif"):
        open_buyer_ticket(
            order=order,
            buyer=order.buyer,
            kind="inquiry",
            body="x",
            attachment=SimpleUploadedFile("a.gif", data.getvalue()),
        )


def test_a_too_big_image_is_refused_with_its_size(buyer_client, order, settings):
    settings.TICKET_ATTACHMENT_MAX_BYTES = 1000
    big = png("big.png", size=(400, 400))
    response = buyer_client.post(
        f"/shop/orders/{order.order_no}/aftersales/",
        {"kind": "complaint", "body": "看图", "attachment": big},
    )
    text = response.content.decode()
    assert "big.png 大小为" in text
    assert "图片最大 1000" in text
    assert not Ticket.objects.exists()


def test_status_flow_and_sla_times(order, role_user):
    support = role_user("support")
    ticket = open_buyer_ticket(
        order=order, buyer=order.buyer, kind="inquiry", body="什么时候到"
    )
    staff_reply(ticket=ticket, actor=support, body="查询中", internal=True)
    ticket.refresh_from_db()
    assert ticket.first_response_at is None  # an internal remark is no answer
    assert ticket.status == T.IN_PROGRESS

    answer = staff_reply(
        ticket=ticket, actor=support, body="请提供截图", status=T.PENDING
    )
    ticket.refresh_from_db()
    assert ticket.first_response_at == answer.created_at
    assert ticket.status == T.PENDING

    buyer_reply(ticket=ticket, buyer=order.buyer, body="截图如下", attachment=png())
    ticket.refresh_from_db()
    assert ticket.status == T.IN_PROGRESS  # back with support

    staff_reply(ticket=ticket, actor=support, body="已补发", status=T.RESOLVED)
    ticket.refresh_from_db()
    assert ticket.resolved_at is not None
    first_answer = ticket.first_response_at

    buyer_reply(ticket=ticket, buyer=order.buyer, body="还是不行")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_at) == (T.IN_PROGRESS, None)
    assert ticket.first_response_at == first_answer

    transition_ticket(ticket=ticket, to=T.CLOSED, actor=support)
    assert ticket.resolved_at is not None
    with pytest.raises(TicketRefused):
        transition_ticket(ticket=ticket, to=T.OPEN, actor=support)
    with pytest.raises(TicketRefused):
        buyer_reply(ticket=ticket, buyer=order.buyer, body="再问一下")
    with pytest.raises(TicketRefused):
        staff_reply(ticket=ticket, actor=support, body="补充")


def test_in_progress_cannot_go_back_to_open(order):
    ticket = open_buyer_ticket(order=order, buyer=order.buyer, kind="inquiry", body="?")
    transition_ticket(ticket=ticket, to=T.IN_PROGRESS)
    with pytest.raises(TicketRefused, match="处理中|In progress"):
        transition_ticket(ticket=ticket, to=T.OPEN)


def test_sla_overdue_when_unanswered_past_the_setting(order, settings):
    settings.TICKET_SLA_FIRST_RESPONSE_HOURS = 2
    ticket = open_buyer_ticket(order=order, buyer=order.buyer, kind="inquiry", body="?")
    assert not ticket_sla(ticket).overdue
    later = ticket.created_at + timedelta(hours=2, minutes=1)
    assert ticket_sla(ticket, now=later).overdue
    ticket.first_response_at = ticket.created_at + timedelta(minutes=30)
    assert not ticket_sla(ticket, now=later).overdue


def test_buyer_sees_staff_answers_but_never_internal_remarks(
    buyer_client, order, role_user
):
    ticket = open_buyer_ticket(order=order, buyer=order.buyer, kind="inquiry", body="?")
    support = role_user("support")
    staff_reply(ticket=ticket, actor=support, body="买家疑似刷单", internal=True)
    staff_reply(ticket=ticket, actor=support, body="请补充充值账号", status=T.PENDING)
    page = buyer_client.get(f"/shop/tickets/{ticket.pk}/").content.decode()
    assert "请补充充值账号" in page
    assert "买家疑似刷单" not in page
    assert "等待买家回复" in page
    assert "客服正在等待您的答复" in page


def test_buyer_replies_from_the_shop(buyer_client, order, role_user):
    ticket = open_buyer_ticket(order=order, buyer=order.buyer, kind="inquiry", body="?")
    staff_reply(
        ticket=ticket, actor=role_user("support"), body="账号是？", status=T.PENDING
    )
    response = buyer_client.post(f"/shop/tickets/{ticket.pk}/", {"body": "QQ 12345"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == T.IN_PROGRESS
    assert ticket.messages.last().body == "QQ 12345"
    empty = buyer_client.post(f"/shop/tickets/{ticket.pk}/", {"body": "  "})
    assert empty.status_code == 200
    assert ticket.messages.count() == 3


def test_vip_tickets_come_first_in_the_back_office(client, role_user):
    gold = MemberLevel.objects.create(code="gold-t", name="黄金", rank=3)
    plain = delivered_card_order()
    vip_order = delivered_card_order(buyer=make_buyer(member_level=gold))
    first = open_buyer_ticket(order=plain, buyer=plain.buyer, kind="inquiry", body="?")
    vip = open_buyer_ticket(
        order=vip_order, buyer=vip_order.buyer, kind="inquiry", body="?"
    )
    assert vip.priority == 3 and first.priority == 0
    client.force_login(role_user("support"))
    listing = client.get("/admin/orders/ticket/").content.decode()
    assert listing.index(f"/admin/orders/ticket/{vip.pk}/change/") < listing.index(
        f"/admin/orders/ticket/{first.pk}/change/"
    )


def test_overdue_tickets_are_marked_in_the_back_office(client, role_user, order):
    ticket = open_buyer_ticket(order=order, buyer=order.buyer, kind="inquiry", body="?")
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    client.force_login(role_user("support"))
    listing = client.get("/admin/orders/ticket/").content.decode()
    assert 'data-testid="overdue"' in listing
    assert "已超时" in listing


def test_support_opens_a_ticket_and_answers_in_the_back_office(
    client, role_user, order
):
    support = role_user("support")
    client.force_login(support)
    assert client.get("/admin/orders/ticket/add/").status_code == 200
    response = client.post(
        "/admin/orders/ticket/add/",
        {
            "kind": "complaint",
            "order": order.pk,
            "subject": "买家电话投诉",
            "assignee": support.pk,
            "messages-TOTAL_FORMS": "0",
            "messages-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket = Ticket.objects.get(subject="买家电话投诉")
    reply = client.post(
        f"/admin/orders/ticket-reply/{ticket.pk}/",
        {"body": "已回电", "status": "resolved"},
    )
    assert reply.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == T.RESOLVED
    assert ticket.first_response_at is not None
    mine = client.get("/admin/orders/ticket/?assigned=mine").content.decode()
    assert f"/admin/orders/ticket/{ticket.pk}/change/" in mine


def test_mine_filter_leaves_out_other_agents_tickets(client, role_user, order):
    me, other = role_user("support", "agent-a"), role_user("support", "agent-b")
    ticket = open_buyer_ticket(order=order, buyer=order.buyer, kind="inquiry", body="?")
    Ticket.objects.filter(pk=ticket.pk).update(assignee=other)
    client.force_login(me)
    mine = client.get("/admin/orders/ticket/?assigned=mine").content.decode()
    assert f"/admin/orders/ticket/{ticket.pk}/change/" not in mine


def test_marketing_cannot_answer_tickets(client, role_user, order):
    ticket = open_buyer_ticket(order=order, buyer=order.buyer, kind="inquiry", body="?")
    client.force_login(role_user("marketing"))
    response = client.post(
        f"/admin/orders/ticket-reply/{ticket.pk}/", {"body": "x", "status": "resolved"}
    )
    assert response.status_code == 403
    assert ticket.messages.count() == 1


def change_url(ticket) -> str:
    return f"/admin/orders/ticket/{ticket.pk}/change/"


def test_an_agent_works_the_queue_and_their_own_tickets_only(client, role_user):
    me, other = role_user("support", "agent-a"), role_user("support", "agent-b")
    lead = role_user("operations")
    mine, theirs, queue = (
        open_buyer_ticket(
            order=(order := delivered_card_order()),
            buyer=order.buyer,
            kind="inquiry",
            body="?",
        )
        for _ in range(3)
    )
    assign_ticket(ticket=mine, assignee=me, actor=lead)
    assign_ticket(ticket=theirs, assignee=other, actor=lead)

    client.force_login(me)
    listing = client.get("/admin/orders/ticket/").content.decode()
    assert change_url(mine) in listing and change_url(queue) in listing
    assert change_url(theirs) not in listing
    assert client.get(change_url(theirs)).status_code in (302, 403, 404)
    reply = client.post(
        f"/admin/orders/ticket-reply/{theirs.pk}/", {"body": "x", "status": "pending"}
    )
    assert reply.status_code == 404
    assert theirs.messages.count() == 1
    with pytest.raises(TicketRefused):
        staff_reply(ticket=theirs, actor=me, body="插手")

    client.force_login(lead)
    listing = client.get("/admin/orders/ticket/").content.decode()
    assert all(change_url(t) in listing for t in (mine, theirs, queue))


def test_reassigning_moves_the_object_permission(role_user, order):
    first, second = role_user("support", "agent-a"), role_user("support", "agent-b")
    lead = role_user("operations")
    ticket = open_buyer_ticket(order=order, buyer=order.buyer, kind="inquiry", body="?")
    ticket = assign_ticket(ticket=ticket, assignee=first, actor=lead)
    assert first.has_perm("orders.change_ticket", ticket)
    assert not can_work_ticket(second, ticket)

    ticket = assign_ticket(ticket=ticket, assignee=second, actor=lead)
    first = type(first).objects.get(pk=first.pk)  # fresh permission cache
    second = type(second).objects.get(pk=second.pk)
    assert not first.has_perm("orders.change_ticket", ticket)
    assert can_work_ticket(second, ticket) and not can_work_ticket(first, ticket)
    with pytest.raises(TicketRefused):
        assign_ticket(ticket=ticket, assignee=first, actor=first)  # not theirs now
    with pytest.raises(TicketRefused):
        assign_ticket(ticket=ticket, assignee=order.buyer, actor=lead)


def test_an_agent_takes_an_unassigned_ticket_in_the_back_office(
    client, role_user, order
):
    me = role_user("support", "agent-a")
    ticket = open_buyer_ticket(order=order, buyer=order.buyer, kind="inquiry", body="?")
    client.force_login(me)
    response = client.post(
        change_url(ticket),
        {
            "subject": ticket.subject,
            "assignee": me.pk,
            "messages-TOTAL_FORMS": "0",
            "messages-INITIAL_FORMS": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    ticket.refresh_from_db()
    assert ticket.assignee == me
    me = type(me).objects.get(pk=me.pk)
    assert me.has_perm("orders.change_ticket", ticket)


def test_priority_support_levels_sort_above_higher_ranks():
    diamond = MemberLevel.objects.create(code="diamond-t", name="钻石", rank=5)
    vip = MemberLevel.objects.create(
        code="vip-t", name="贵宾", rank=2, priority_support=True
    )
    rich = delivered_card_order(buyer=make_buyer(member_level=diamond))
    cared = delivered_card_order(buyer=make_buyer(member_level=vip))
    first = open_buyer_ticket(order=rich, buyer=rich.buyer, kind="inquiry", body="?")
    second = open_buyer_ticket(order=cared, buyer=cared.buyer, kind="inquiry", body="?")
    assert list(Ticket.objects.all()) == [second, first]


def test_an_agent_takes_a_ticket_from_its_reply_page(client, role_user, order):
    me = role_user("support", "agent-a")
    ticket = open_buyer_ticket(order=order, buyer=order.buyer, kind="inquiry", body="?")
    client.force_login(me)
    page = client.get(f"/admin/orders/ticket-reply/{ticket.pk}/").content.decode()
    assert "分配给我" in page
    response = client.post(f"/admin/orders/ticket-reply/{ticket.pk}/", {"take": "1"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == me
    page = client.get(f"/admin/orders/ticket-reply/{ticket.pk}/").content.decode()
    assert "分配给我" not in page

    client.force_login(role_user("support", "agent-b"))  # no longer in their queue
    assert (
        client.post(
            f"/admin/orders/ticket-reply/{ticket.pk}/", {"take": "1"}
        ).status_code
        == 404
    )
    ticket.refresh_from_db()
    assert ticket.assignee == me


def test_finance_reads_tickets_without_a_reply_link(client, role_user, order):
    ticket = open_buyer_ticket(order=order, buyer=order.buyer, kind="refund", body="?")
    client.force_login(role_user("finance"))
    page = client.get(change_url(ticket)).content.decode()
    assert ticket.subject in page
    assert f"/admin/orders/ticket-reply/{ticket.pk}/" not in page
