"""Double clicks on the refund confirmation, at the same moment (Postgres, real
threads): the buyer is paid once."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from orders.models import Order, RefundRequest
from orders.refunds import approve_refund, request_refund
from tests.orders.aftersales_helpers import delivered_card_order
from users.models import LedgerEntry

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CLICKS = 8


def run_together(work, count):
    """Run work(i) on `count` threads released at once; returns the errors."""
    errors = []
    start = threading.Barrier(count)

    def run(index):
        try:
            start.wait()
            work(index)
        except Exception as exc:  # noqa: BLE001 - any error fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_clicks_of_one_refund_pay_once(role_user):
    order = delivered_card_order()
    finance = role_user("finance")
    key = uuid.uuid4()
    rows = []

    def click(_index):
        rows.append(
            request_refund(
                order=order,
                amount=Decimal("30.00"),
                reason="卡密无效",
                actor=finance,
                key=key,
            ).pk
        )

    assert run_together(click, CLICKS) == []
    assert len(set(rows)) == 1
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("30.00")
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).count() == 1


def test_concurrent_posts_of_the_confirmation_page_pay_once(role_user):
    order = delivered_card_order()
    role_user("finance")
    key = str(uuid.uuid4())
    statuses = []

    def post(_index):
        client = Client()
        client.login(username="finance-staff", password="x-test-password")
        response = client.post(
            f"/admin/orders/refund/{order.pk}/",
            {"key": key, "amount": "100.00", "reason": "充值失败", "confirm": "1"},
        )
        statuses.append(response.status_code)

    assert run_together(post, CLICKS) == []
    assert statuses == [302] * CLICKS  # every click lands on the order page
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert order.refunded_amount == Decimal("100.00")
    assert RefundRequest.objects.count() == 1
    order.buyer.wallet.refresh_from_db()
    assert order.buyer.wallet.balance == Decimal("100.00")


def test_two_different_refunds_at_once_never_exceed_the_order(role_user):
    order = delivered_card_order()  # 100.00
    finance = role_user("finance")
    outcomes = []

    def click(_index):
        try:
            request_refund(
                order=order,
                amount=Decimal("60.00"),
                reason="部分退款",
                actor=finance,
                key=uuid.uuid4(),
            )
            outcomes.append("paid")
        except Exception as exc:  # noqa: BLE001
            outcomes.append(type(exc).__name__)

    assert run_together(click, 4) == []
    assert sorted(outcomes) == ["RefundRefused"] * 3 + ["paid"]
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("60.00")


def test_concurrent_approvals_of_one_refund_pay_once(role_user, settings):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal("10.00")
    order = delivered_card_order()
    asker = role_user("finance", "finance-a")
    approvers = [role_user("finance", f"finance-{n}") for n in range(CLICKS)]
    pending = request_refund(
        order=order,
        amount=Decimal("70.00"),
        reason="整单无效",
        actor=asker,
        key=uuid.uuid4(),
    )
    assert pending.status == RefundRequest.Status.PENDING

    def approve(index):
        approve_refund(refund=pending, actor=approvers[index])

    assert run_together(approve, CLICKS) == []
    pending.refresh_from_db()
    assert pending.status == RefundRequest.Status.REFUNDED
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("70.00")
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).count() == 1
