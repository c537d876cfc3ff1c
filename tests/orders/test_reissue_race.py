"""Double clicks on the reissue button at the same moment (Postgres, real
threads): one fresh code leaves the pool, one old code is voided."""

import uuid

import pytest

from catalog.models import CardCode
from orders.models import CodeInvalidation, OrderEvent
from orders.reissues import reissue_codes
from tests.orders.aftersales_helpers import delivered_card_order
from tests.orders.factories import stock_codes
from tests.orders.test_refund_race import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CLICKS = 8


def test_concurrent_clicks_of_one_reissue_take_one_code(role_user):
    order = delivered_card_order(quantity=1)
    stock_codes(order.sku, CLICKS)
    support = role_user("support")
    key = uuid.uuid4()
    [old_id] = order.delivery["code_ids"]
    rows = []

    def click(_index):
        done = reissue_codes(
            order=order,
            code_ids=[old_id],
            actor=support,
            reason="发卡方查询：已被使用",
            key=key,
        )
        rows.append(tuple(row.pk for row in done))

    assert run_together(click, CLICKS) == []
    assert len(set(rows)) == 1 and len(rows) == CLICKS
    row = CodeInvalidation.objects.get()
    order.refresh_from_db()
    assert order.delivery["code_ids"] == [row.replacement_id]
    assert CardCode.objects.filter(sku=order.sku, status="available").count() == (
        CLICKS - 1
    )
    assert CardCode.objects.get(pk=old_id).status == CardCode.Status.VOID
    order.sku.refresh_from_db()
    assert order.sku.stock == CLICKS - 1
    assert OrderEvent.objects.filter(order=order, reason__contains="补发").count() == 1


def test_two_agents_reissuing_the_same_code_replace_it_once(role_user):
    order = delivered_card_order(quantity=1)
    stock_codes(order.sku, 4)
    agents = [role_user("support", f"agent-{i}") for i in range(2)]
    [old_id] = order.delivery["code_ids"]
    outcomes = []

    def click(index):
        try:
            reissue_codes(
                order=order,
                code_ids=[old_id],
                actor=agents[index],
                reason="买家反馈无效",
                key=uuid.uuid4(),  # two forms, two keys
            )
            outcomes.append("reissued")
        except Exception as exc:  # noqa: BLE001 - the refusal is the outcome
            outcomes.append(type(exc).__name__)

    assert run_together(click, 2) == []
    assert sorted(outcomes) == ["ReissueRefused", "reissued"]
    assert CodeInvalidation.objects.count() == 1
    assert CardCode.objects.filter(sku=order.sku, status="available").count() == 3
