"""补发: a card code a buyer reports is replaced by a fresh code of the same SKU;
the old one is void with who and why; the buyer sees the new code; a retry of
the same form changes nothing."""

import uuid

import pytest
from django.urls import reverse

from catalog.models import CardCode
from kameng.models import AuditEntry
from orders.exceptions import ReissueRefused
from orders.models import CodeInvalidation
from orders.reissues import mark_codes_invalid, reissue_codes
from orders.selectors import delivered_codes
from tests.orders.aftersales_helpers import delivered_card_order
from tests.orders.factories import stock_codes
from tests.orders.support_helpers import buyer_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(role_user):
    return role_user("support")


def reissue(order, support, *, key=None, ticket=None, codes=None):
    return reissue_codes(
        order=order,
        code_ids=codes if codes is not None else order.delivery["code_ids"][:1],
        actor=support,
        reason="发卡方查询：已被使用",
        key=key or uuid.uuid4(),
        ticket=ticket,
    )


def test_a_reissue_replaces_the_code_and_voids_the_old_one(support):
    order = delivered_card_order(quantity=2)
    fresh = stock_codes(order.sku, 1, prefix="NEW")
    old_id, kept_id = order.delivery["code_ids"]
    ticket = buyer_ticket(order, body="第一张卡密提示无效")

    [row] = reissue(order, support, ticket=ticket)

    order.refresh_from_db()
    assert order.delivery["code_ids"] == [row.replacement_id, kept_id]
    assert delivered_codes(order=order)[0] == fresh[0]
    assert CardCode.objects.get(pk=old_id).status == CardCode.Status.VOID
    assert CardCode.objects.get(pk=row.replacement_id).order_ref == order.order_no
    assert (row.code_id, row.actor, row.reason) == (
        old_id,
        support,
        "发卡方查询：已被使用",
    )
    event = order.events.last()
    assert event.actor == support and "补发" in event.reason
    assert "已为您补发 1 张卡密" in ticket.messages.last().body
    entry = AuditEntry.objects.get(action="order.reissue")
    assert (entry.actor, entry.object_id) == (support, str(order.pk))
    order.sku.refresh_from_db()
    assert order.sku.stock == 0


def test_the_same_form_sent_twice_reissues_once(support):
    order = delivered_card_order(quantity=1)
    stock_codes(order.sku, 2)
    key = uuid.uuid4()
    first = reissue(order, support, key=key)
    again = reissue(order, support, key=key)
    assert [r.pk for r in again] == [r.pk for r in first]
    assert CodeInvalidation.objects.count() == 1
    assert CardCode.objects.filter(sku=order.sku, status="available").count() == 1


def test_a_replaced_code_cannot_be_reissued_again_by_another_form(support):
    order = delivered_card_order(quantity=1)
    stock_codes(order.sku, 2)
    old = order.delivery["code_ids"]
    reissue(order, support, codes=old)
    order.refresh_from_db()
    with pytest.raises(ReissueRefused, match="只能选择订单"):
        reissue(order, support, codes=old)


def test_no_code_in_stock_changes_nothing(support):
    order = delivered_card_order(quantity=1)
    with pytest.raises(ReissueRefused, match="库存卡密不足"):
        reissue(order, support)
    assert CardCode.objects.get(pk=order.delivery["code_ids"][0]).status == "sold"
    assert not CodeInvalidation.objects.exists()


def test_a_code_marked_invalid_is_reissued_with_its_check(support):
    order = delivered_card_order(quantity=1)
    stock_codes(order.sku, 1)
    [marked] = mark_codes_invalid(
        order=order,
        code_ids=order.delivery["code_ids"],
        actor=support,
        reason="已核实无效",
        key=uuid.uuid4(),
    )
    [row] = reissue(order, support)
    assert row.pk == marked.pk and row.replacement_id is not None


def test_a_reason_is_needed(support):
    order = delivered_card_order(quantity=1)
    with pytest.raises(ReissueRefused, match="必须填写原因"):
        reissue_codes(
            order=order,
            code_ids=order.delivery["code_ids"],
            actor=support,
            reason="  ",
            key=uuid.uuid4(),
        )


def test_finance_may_not_reissue(role_user):
    order = delivered_card_order(quantity=1)
    stock_codes(order.sku, 1)
    with pytest.raises(ReissueRefused, match="没有标记卡密无效或补发卡密的权限"):
        reissue(order, role_user("finance"))


def test_the_buyer_sees_the_new_code_and_why_on_the_order_page(client, support):
    order = delivered_card_order(quantity=1)
    [fresh] = stock_codes(order.sku, 1, prefix="NEW")
    reissue(order, support)
    client.force_login(order.buyer)
    page = client.get(reverse("shop:order", args=[order.order_no])).content.decode()
    assert fresh in page
    assert 'data-testid="reissues"' in page
    assert "已补发新卡密" in page and "发卡方查询：已被使用" in page


def test_support_reissues_from_the_ticket_page(client, support):
    order = delivered_card_order(quantity=1)
    stock_codes(order.sku, 1)
    ticket = buyer_ticket(order, body="卡密无效")
    client.force_login(support)
    url = reverse("orders:ticket_reissue", args=[ticket.pk])
    assert "确认补发" in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "key": str(uuid.uuid4()),
            "codes": order.delivery["code_ids"],
            "reason": "发卡方查询：已被使用",
        },
        follow=True,
    )
    assert "已补发 1 张卡密，买家可看到新卡密。" in response.content.decode()
    assert CodeInvalidation.objects.get().replacement is not None


def test_the_reissue_page_names_a_missing_reason(client, support):
    order = delivered_card_order(quantity=1)
    stock_codes(order.sku, 1)
    ticket = buyer_ticket(order, body="卡密无效")
    client.force_login(support)
    response = client.post(
        reverse("orders:ticket_reissue", args=[ticket.pk]),
        {"key": str(uuid.uuid4()), "codes": order.delivery["code_ids"], "reason": ""},
    )
    assert response.status_code == 200
    assert not CodeInvalidation.objects.exists()
