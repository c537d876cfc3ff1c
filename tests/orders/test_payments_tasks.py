"""The payment sweepers: settle orders whose notify was lost, cancel unpaid ones,
and the finance list of what they could not settle."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.admin import AdminSite
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from kameng.beat import SCHEDULE, Every
from kameng.celery import app as celery_app
from orders.models import Order, Payment, PaymentAttempt, WalletTopUp
from orders.payments import sandbox_remote
from orders.payments.admin import register
from orders.payments.sandbox import SandboxGateway
from orders.payments.selectors import payments_for_finance, unsettled_gateway_orders
from orders.payments.services import start_gateway_payment
from orders.payments.tasks import (
    cancel_unpaid_orders_task,
    notify_in_process,
    sandbox_send_notify_task,
    settle_pending_payments_task,
)
from orders.payments.topups import start_topup
from tests.orders.factories import make_buyer
from tests.orders.payments_helpers import (
    card_order,
    post_sandbox_notify,
    sandbox_message,
)

pytestmark = pytest.mark.django_db


def _age(order, minutes):
    then = timezone.now() - timedelta(minutes=minutes)
    Order.objects.filter(pk=order.pk).update(created_at=then)
    PaymentAttempt.objects.filter(order=order).update(created_at=then)


def test_both_sweepers_run_well_within_the_payment_timeout(settings):
    """An unpaid order is queried and cancelled within minutes of its timeout,
    not whenever someone remembers: both sweepers repeat more often than it."""
    periods = {
        entry.task: entry.schedule.seconds
        for entry in SCHEDULE
        if isinstance(entry.schedule, Every)
    }
    timeout = settings.ORDER_PAYMENT_TIMEOUT_MINUTES * 60
    assert 0 < periods["orders.settle_pending_payments"] < timeout
    assert 0 < periods["orders.cancel_unpaid_orders"] < timeout


def test_a_paid_order_whose_notify_was_lost_is_settled_by_the_sweeper():
    order, texts = card_order()
    start_gateway_payment(order=order, channel="sandbox")
    sandbox_remote.finish_trade(order_no=order.order_no, pay=True)  # paid, notify lost
    _age(order, 5)

    assert settle_pending_payments_task() == {
        "paid": 1,
        "unpaid": 0,
        "unknown": 0,
        "rejected": 0,
    }
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    payment = Payment.objects.get(order=order)
    assert payment.trade_no == sandbox_remote.get_trade(order.order_no)["trade_no"]
    # The notify arriving after all is a no-op.
    assert notify_in_process(order_no=order.order_no)
    assert Payment.objects.filter(order=order).count() == 1


def test_the_sweeper_waits_a_few_minutes_and_skips_unpaid_orders():
    fresh, _texts = card_order()
    start_gateway_payment(order=fresh, channel="sandbox")
    sandbox_remote.finish_trade(order_no=fresh.order_no, pay=True)
    unpaid, _texts = card_order()
    start_gateway_payment(order=unpaid, channel="sandbox")
    _age(unpaid, 5)

    counts = settle_pending_payments_task()
    assert counts["paid"] == 0 and counts["unpaid"] == 1
    fresh.refresh_from_db()
    assert fresh.status == Order.Status.PENDING_PAYMENT  # its notify may still come
    assert PaymentAttempt.objects.get(order=unpaid).check_result == "unpaid"


def test_what_the_gateway_cannot_tell_is_listed_for_finance(client, role_user):
    order, _texts = card_order()
    start_gateway_payment(order=order, channel="sandbox")
    cache.delete(f"paysandbox:trade:{order.order_no}")  # the gateway forgot it
    _age(order, 5)
    assert settle_pending_payments_task()["unknown"] == 1
    assert [a.order_id for a in unsettled_gateway_orders()] == [order.pk]

    client.force_login(role_user("finance"))
    page = client.get("/pay/finance/")
    assert page.status_code == 200
    assert order.order_no in page.content.decode()


def test_the_finance_page_is_for_finance_only(client, role_user):
    client.force_login(role_user("marketing"))
    assert client.get("/pay/finance/").status_code == 403


def test_amount_mismatches_are_listed_for_finance(client):
    order, _texts = card_order()
    body, headers = sandbox_message(order, amount="1.00")
    post_sandbox_notify(client, body, headers)
    assert [p.order_id for p in payments_for_finance()] == [order.pk]


def test_unpaid_orders_are_cancelled_after_the_timeout(settings):
    settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 15
    old, _texts = card_order()
    _age(old, 16)
    young, _texts = card_order()
    _age(young, 10)
    paid, _texts = card_order()
    _age(paid, 30)
    Order.objects.filter(pk=paid.pk).update(status=Order.Status.DELIVERED)

    assert cancel_unpaid_orders_task() == 1
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {
        old.pk: "cancelled",
        young.pk: "pending_payment",
        paid.pk: "delivered",
    }
    event = old.events.get()
    assert (event.from_status, event.to_status) == ("pending_payment", "cancelled")
    assert "15" in event.reason
    assert cancel_unpaid_orders_task() == 0  # idempotent


def test_on_the_full_stack_the_sandbox_notify_leaves_from_a_task(client, settings):
    """Not eager: the click enqueues the sender with a short countdown; the
    sender POSTs the signed notify, which our endpoint accepts."""

    order, _texts = card_order()
    url = start_gateway_payment(order=order, channel="sandbox")
    celery_app.conf.task_always_eager = False
    try:
        with mock.patch.object(sandbox_send_notify_task, "apply_async") as enqueue:
            client.post(url, {"action": "pay"})
    finally:
        celery_app.conf.task_always_eager = True
    enqueue.assert_called_once_with(kwargs={"order_no": order.order_no}, countdown=1)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT  # the notify is on its way

    class Relay:
        """urlopen stand-in that hands the request to our notify endpoint."""

        def __call__(self, request, timeout):
            assert request.full_url == "http://127.0.0.1:8000/pay/sandbox/notify/"
            headers = {k: v for k, v in request.header_items()}
            self.response = client.post(
                "/pay/sandbox/notify/",
                data=request.data,
                content_type="application/json",
                headers={k: v for k, v in headers.items() if k.startswith("X-")},
            )
            return self

        def read(self):
            return self.response.content

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    with mock.patch("urllib.request.urlopen", Relay()):
        assert sandbox_send_notify_task.run(order_no=order.order_no) is True
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED


def test_the_cancel_task_asks_the_gateway_before_cancelling(settings):
    """Paid in the last minute, notify lost: delivered, not cancelled."""
    settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 15
    paid, _texts = card_order()
    start_gateway_payment(order=paid, channel="sandbox")
    sandbox_remote.finish_trade(order_no=paid.order_no, pay=True)
    _age(paid, 16)
    unpaid, _texts = card_order()
    start_gateway_payment(order=unpaid, channel="sandbox")
    _age(unpaid, 16)

    assert cancel_unpaid_orders_task() == 1
    paid.refresh_from_db()
    unpaid.refresh_from_db()
    assert paid.status == Order.Status.DELIVERED
    assert unpaid.status == Order.Status.CANCELLED
    assert PaymentAttempt.objects.get(order=unpaid).check_result == "unpaid"


def test_the_payment_admin_passes_the_admin_checks():
    """orders/admin.py registers it on the real site; here on a private one."""

    site = AdminSite(name="payments-check")
    register(site)
    errors = [
        error
        for model_admin in site._registry.values()
        for error in model_admin.check()
    ]
    assert errors == []
    assert len(site._registry) == 3  # payments, attempts, wallet top-ups


@pytest.mark.django_db(transaction=True)
def test_the_sweepers_ask_the_gateway_outside_any_transaction(monkeypatch):
    """A gateway query is a network call (epay's is HTTP): a slow gateway must
    not hold row locks, so the sweepers never ask it inside a transaction."""
    asked = []
    query = SandboxGateway.query

    def spy(gateway, *, order):
        asked.append((order.order_no, connection.in_atomic_block))
        return query(gateway, order=order)

    monkeypatch.setattr(SandboxGateway, "query", spy)
    cache.clear()
    paid, _texts = card_order()
    unpaid, _texts = card_order()
    for order in (paid, unpaid):
        start_gateway_payment(order=order, channel="sandbox")
        _age(order, 60)
    sandbox_remote.finish_trade(order_no=paid.order_no, pay=True)
    topup = start_topup(buyer=make_buyer(), amount=Decimal("12.00"), channel="sandbox")[
        0
    ]
    WalletTopUp.objects.filter(pk=topup.pk).update(
        created_at=timezone.now() - timedelta(minutes=60)
    )

    settle_pending_payments_task()
    cancel_unpaid_orders_task()

    assert {no for no, _inside in asked} == {
        paid.order_no,
        unpaid.order_no,
        topup.topup_no,
    }
    assert [inside for _no, inside in asked] == [False] * len(asked)
