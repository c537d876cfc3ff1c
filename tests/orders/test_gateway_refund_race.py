"""Double clicks on a guest's refund, at the same moment (Postgres, real
threads): one refund request, one refund at the gateway."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from orders.models import Order, RefundRequest
from orders.payments.sandbox_remote import get_trade
from orders.payments.services import start_gateway_payment
from tests.orders.payments_helpers import card_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CLICKS = 6


def test_concurrent_confirmations_of_a_guest_refund_refund_once(role_user, settings):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal("1000.00")
    order, _texts = card_order(codes=2, quantity=2, guest=True)
    Client().post(
        start_gateway_payment(order=order, channel="sandbox"), {"action": "pay"}
    )
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    role_user("finance")
    key = str(uuid.uuid4())
    errors, statuses, start = [], [], threading.Barrier(CLICKS)

    def click():
        try:
            client = Client()
            client.login(username="finance-staff", password="x-test-password")
            start.wait()
            response = client.post(
                f"/admin/orders/refund/{order.pk}/",
                {"key": key, "amount": "19.60", "reason": "卡密无效", "confirm": "1"},
            )
            statuses.append(response.status_code)
        except Exception as exc:  # noqa: BLE001 - any error fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(CLICKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and set(statuses) == {302}
    refund = RefundRequest.objects.get(order=order)
    assert refund.status == RefundRequest.Status.REFUNDED
    assert len(get_trade(order.order_no)["refunds"]) == 1
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (
        Order.Status.REFUNDED,
        Decimal("19.60"),
    )
