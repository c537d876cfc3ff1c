"""Paying through the sandbox gateway: its page, its signed notify, and the
settle rules (pay once, reject forgeries and replays, late and sold-out money)."""

import logging
import time
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from catalog.models import CardCode
from orders.checkout import cancel_order
from orders.exceptions import IllegalTransition
from orders.models import Order, Payment, PaymentAttempt, Ticket
from orders.payments.base import UnknownChannel
from orders.payments.registry import available_channels
from orders.payments.services import start_gateway_payment
from orders.selectors import delivered_codes
from tests.orders.payments_helpers import (
    card_order,
    post_sandbox_notify,
    sandbox_message,
)
from users.models import LedgerEntry

pytestmark = pytest.mark.django_db


def _snapshot(order):
    order.refresh_from_db()
    return (
        order.status,
        order.flag,
        order.paid_at,
        Payment.objects.filter(order=order).count(),
        CardCode.objects.filter(order_ref=order.order_no).count(),
    )


def test_sandbox_is_offered_and_starts_on_its_payment_page():
    order, _texts = card_order()
    assert "sandbox" in dict(available_channels())
    url = start_gateway_payment(order=order, channel="sandbox")
    assert url == f"/pay/sandbox/{order.order_no}/"
    assert PaymentAttempt.objects.filter(order=order, channel="sandbox").exists()


def test_an_unknown_or_disabled_channel_is_refused():
    order, _texts = card_order()
    with pytest.raises(UnknownChannel):
        start_gateway_payment(order=order, channel="epay")  # no EPAY_* set
    with pytest.raises(UnknownChannel):
        start_gateway_payment(order=order, channel="bitcoin")


def test_a_paid_order_cannot_be_sent_to_the_gateway_again(client):
    order, _texts = card_order()
    body, headers = sandbox_message(order)
    post_sandbox_notify(client, body, headers)
    with pytest.raises(IllegalTransition):
        start_gateway_payment(order=order, channel="sandbox")


def test_the_sandbox_page_pays_notifies_and_sends_the_buyer_back(client):
    order, texts = card_order(quantity=2)
    url = start_gateway_payment(order=order, channel="sandbox")

    page = client.get(url)
    assert page.status_code == 200
    assert "19.60" in page.content.decode()

    response = client.post(url, {"action": "pay"})
    assert response.status_code == 302
    assert response["Location"] == f"/shop/orders/{order.order_no}/"
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert order.payment_method == Order.PaymentMethod.GATEWAY
    assert delivered_codes(order=order) == texts[:2]
    payment = Payment.objects.get(order=order)
    assert payment.channel == "sandbox" and payment.trade_no.startswith("SBX")
    assert payment.amount == Decimal("19.60")
    assert payment.outcome == Payment.Outcome.SETTLED
    # Pressing "pay" again (back button) changes nothing.
    client.post(url, {"action": "pay"})
    assert Payment.objects.filter(order=order).count() == 1


def test_failing_on_the_sandbox_page_leaves_the_order_unpaid(client):
    order, _texts = card_order()
    url = start_gateway_payment(order=order, channel="sandbox")
    response = client.post(url, {"action": "fail"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT
    assert "您可以重试" in client.get(url).content.decode()


def test_the_sandbox_page_of_an_unknown_order_is_404(client):
    assert client.get("/pay/sandbox/26010100000000/").status_code == 404


def test_a_signed_notify_pays_and_delivers(client, django_capture_on_commit_callbacks):
    order, texts = card_order()
    body, headers = sandbox_message(order, trade_no="SBX-1")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_sandbox_notify(client, body, headers)
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert delivered_codes(order=order) == texts[:1]
    assert [(e.from_status, e.to_status) for e in order.events.all()] == [
        ("pending_payment", "paid"),
        ("paid", "delivered"),
    ]


def test_duplicate_notifies_pay_once(client):
    """The gateway retries (fresh nonce each time) and replays: one payment."""
    order, _texts = card_order()
    for _ in range(4):
        body, headers = sandbox_message(order, trade_no="SBX-DUP")
        assert post_sandbox_notify(client, body, headers).json() == {"ok": True}
    assert Payment.objects.filter(order=order).count() == 1
    assert CardCode.objects.filter(order_ref=order.order_no).count() == 1
    assert order.events.filter(to_status="paid").count() == 1


def test_a_replayed_notify_is_rejected_by_its_nonce(client, caplog):
    order, _texts = card_order()
    body, headers = sandbox_message(order)
    assert post_sandbox_notify(client, body, headers).status_code == 200
    before = _snapshot(order)
    with caplog.at_level(logging.WARNING):
        response = post_sandbox_notify(client, body, headers)
    assert response.status_code == 400
    assert response.json()["error"] == "reused_nonce"
    assert _snapshot(order) == before
    assert "reused_nonce" in caplog.text


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"key": "not-the-gateway-key"}, "bad_signature"),
        ({"at": int(time.time()) - 3600}, "stale_timestamp"),
        ({"at": int(time.time()) + 3600}, "stale_timestamp"),
        ({"nonce": "short"}, "bad_nonce"),
    ],
)
def test_forged_or_stale_notifies_are_rejected_and_logged(
    client, caplog, change, reason
):
    order, _texts = card_order()
    before = _snapshot(order)
    body, headers = sandbox_message(order, **change)
    with caplog.at_level(logging.WARNING):
        response = post_sandbox_notify(client, body, headers)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": reason}
    assert _snapshot(order) == before
    assert reason in caplog.text and order.order_no in caplog.text


def test_a_tampered_amount_breaks_the_signature(client):
    order, _texts = card_order()
    body, headers = sandbox_message(order, amount="9.80")
    tampered = body.replace(b'"9.80"', b'"0.01"')
    response = post_sandbox_notify(client, tampered, headers)
    assert response.json()["error"] == "bad_signature"
    assert _snapshot(order)[0] == Order.Status.PENDING_PAYMENT


def test_unsigned_notify_is_rejected(client):
    order, _texts = card_order()
    body, _headers = sandbox_message(order)
    response = post_sandbox_notify(client, body, {})
    assert response.json()["error"] == "missing_header"


def test_a_notify_for_an_unknown_order_is_rejected(client, caplog):
    order, _texts = card_order()
    order.order_no = "99999999999999"  # not saved: an order we never placed
    body, headers = sandbox_message(order)
    with caplog.at_level(logging.WARNING):
        response = post_sandbox_notify(client, body, headers)
    assert response.json() == {"ok": False, "error": "unknown_order"}
    assert not Payment.objects.exists()
    assert "unknown_order" in caplog.text


def test_a_genuine_notify_with_the_wrong_amount_pays_nothing(client, caplog):
    order, _texts = card_order()
    body, headers = sandbox_message(order, amount="1.00", trade_no="SBX-LOW")
    with caplog.at_level(logging.WARNING):
        response = post_sandbox_notify(client, body, headers)
    assert response.status_code == 200  # received and recorded: no retries
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT
    assert order.flag == Order.Flag.AMOUNT_MISMATCH
    assert not CardCode.objects.filter(order_ref=order.order_no).exists()
    payment = Payment.objects.get(order=order)
    assert payment.outcome == Payment.Outcome.AMOUNT_MISMATCH
    assert Ticket.objects.filter(order=order, kind="abnormal").count() == 1
    assert "amount mismatch" in caplog.text
    # The same trade replayed with yet another amount is refused outright.
    body, headers = sandbox_message(order, amount="9.80", trade_no="SBX-LOW")
    assert post_sandbox_notify(client, body, headers).json()["error"] == (
        "trade_conflict"
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT


def test_a_late_notify_after_cancel_is_credited_to_the_buyer(client):
    order, _texts = card_order()
    cancel_order(order=order, reason="payment timeout")
    body, headers = sandbox_message(order, trade_no="SBX-LATE")
    assert post_sandbox_notify(client, body, headers).json() == {"ok": True}
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED  # not revived, not delivered
    assert order.flag == Order.Flag.PAYMENT_TIMEOUT
    assert not CardCode.objects.filter(order_ref=order.order_no).exists()
    payment = Payment.objects.get(order=order)
    assert payment.outcome == Payment.Outcome.REFUNDED_TO_WALLET
    order.buyer.wallet.refresh_from_db()
    assert order.buyer.wallet.balance == order.amount
    entry = LedgerEntry.objects.get(reference=order.order_no)
    assert entry.kind == "refund" and entry.amount == order.amount
    assert Ticket.objects.filter(order=order, kind="abnormal").exists()
    # Replayed, it credits nothing more.
    body, headers = sandbox_message(order, trade_no="SBX-LATE")
    post_sandbox_notify(client, body, headers)
    assert LedgerEntry.objects.filter(reference=order.order_no).count() == 1


def test_a_late_notify_for_a_guest_is_left_for_finance(client):
    order, _texts = card_order(guest=True)
    cancel_order(order=order, reason="payment timeout")
    body, headers = sandbox_message(order, trade_no="SBX-LATE-G")
    assert post_sandbox_notify(client, body, headers).json() == {"ok": True}
    payment = Payment.objects.get(order=order)
    assert payment.outcome == Payment.Outcome.FOR_FINANCE
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert Ticket.objects.filter(order=order, kind="abnormal").exists()


def test_a_second_payment_of_a_paid_order_is_credited_back(client):
    order, _texts = card_order()
    for trade in ("SBX-A", "SBX-B"):
        body, headers = sandbox_message(order, trade_no=trade)
        post_sandbox_notify(client, body, headers)
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert CardCode.objects.filter(order_ref=order.order_no).count() == 1
    outcomes = dict(Payment.objects.values_list("trade_no", "outcome"))
    assert outcomes == {"SBX-A": "settled", "SBX-B": "refunded_to_wallet"}
    order.buyer.wallet.refresh_from_db()
    assert order.buyer.wallet.balance == order.amount


def test_sold_out_on_a_gateway_payment_refunds_the_buyer_at_once(client):
    order, _texts = card_order(codes=1, quantity=2)
    body, headers = sandbox_message(order, trade_no="SBX-SOLD")
    assert post_sandbox_notify(client, body, headers).json() == {"ok": True}
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert order.flag == Order.Flag.SOLD_OUT
    assert order.refunded_amount == order.amount
    assert "已售罄" in order.delivery["note"]
    payment = Payment.objects.get(order=order)  # the payment is kept
    assert payment.outcome == Payment.Outcome.REFUNDED_TO_WALLET
    order.buyer.wallet.refresh_from_db()
    assert order.buyer.wallet.balance == order.amount
    assert CardCode.objects.filter(status="available").count() == 1  # untouched
    assert [e.to_status for e in order.events.all()] == ["paid", "refunded"]


def test_sold_out_on_a_guest_payment_fails_the_order_with_a_ticket(client):
    order, _texts = card_order(codes=0, guest=True)
    body, headers = sandbox_message(order, trade_no="SBX-SOLD-G")
    assert post_sandbox_notify(client, body, headers).json() == {"ok": True}
    order.refresh_from_db()
    assert order.status == Order.Status.FAILED  # never 'paid' without codes
    assert order.flag == Order.Flag.SOLD_OUT
    assert "已售罄" in order.delivery["note"]
    assert Payment.objects.get(order=order).outcome == Payment.Outcome.FOR_FINANCE
    assert Ticket.objects.filter(order=order, kind="abnormal").exists()


def test_notify_accepts_only_get_and_post(client):
    assert client.put("/pay/sandbox/notify/").status_code == 405
    assert client.post("/pay/nosuch/notify/").status_code == 404


def test_a_notify_costs_a_bounded_number_of_queries(
    client, django_assert_max_num_queries
):
    order, _texts = card_order(quantity=3, codes=3)
    body, headers = sandbox_message(order)
    with django_assert_max_num_queries(30):
        assert post_sandbox_notify(client, body, headers).json() == {"ok": True}
    body, headers = sandbox_message(order)
    with django_assert_max_num_queries(6):  # a duplicate: lock, look, done
        assert post_sandbox_notify(client, body, headers).json() == {"ok": True}


def test_the_database_refuses_a_trade_recorded_twice():
    order, _texts = card_order()
    fields = {"order": order, "channel": "sandbox", "trade_no": "T1", "amount": 1}
    Payment.objects.create(outcome="settled", **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(outcome="for_finance", **fields)
