"""Refunds asked by staff: amounts, reasons, the approval threshold, exactly once."""

import uuid
from decimal import Decimal

import pytest

from catalog.models import CardCode
from kameng.fields import blind_index
from orders.exceptions import RefundRefused
from orders.models import Order, RefundRequest
from orders.refunds import approve_refund, reject_refund, request_refund
from tests.orders.aftersales_helpers import delivered_card_order
from users.models import LedgerEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def threshold(settings):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal("60.00")


@pytest.fixture
def finance(role_user):
    return role_user("finance", "finance-1")


@pytest.fixture
def finance_2(role_user):
    return role_user("finance", "finance-2")


def refund(order, actor, amount, reason="卡密无法使用", **kwargs):
    kwargs.setdefault("key", uuid.uuid4())
    return request_refund(
        order=order, amount=Decimal(amount), reason=reason, actor=actor, **kwargs
    )


def balance(order):
    order.buyer.wallet.refresh_from_db()
    return order.buyer.wallet.balance


def test_partial_refunds_add_up_to_a_full_refund(finance):
    order = delivered_card_order()  # 2 × 50.00, the buyer's balance now 0
    refund(order, finance, "30.00")
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    assert order.refunded_amount == Decimal("30.00")
    assert balance(order) == Decimal("30.00")
    refund(order, finance, "50.00")
    refund(order, finance, "20.00")
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert balance(order) == Decimal("100.00")
    entries = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND)
    assert sorted(e.amount for e in entries) == [
        Decimal("20.00"),
        Decimal("30.00"),
        Decimal("50.00"),
    ]


@pytest.mark.parametrize("amount", ["100.01", "0", "-5", "0.001"])
def test_refund_of_more_than_is_left_or_a_silly_amount_is_refused(finance, amount):
    order = delivered_card_order()
    with pytest.raises(RefundRefused):
        refund(order, finance, amount)
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("0.00")
    assert not RefundRequest.objects.exists()
    assert balance(order) == Decimal("0.00")


def test_what_is_left_shrinks_with_each_refund(finance):
    order = delivered_card_order()
    refund(order, finance, "40.00")
    with pytest.raises(RefundRefused, match="60.00"):
        refund(order, finance, "60.01")


def test_a_refund_needs_a_reason(finance):
    order = delivered_card_order()
    with pytest.raises(RefundRefused):
        refund(order, finance, "10.00", reason="   ")
    assert not RefundRequest.objects.exists()


def test_the_same_request_key_pays_once(finance):
    order = delivered_card_order()
    key = uuid.uuid4()
    first = refund(order, finance, "10.00", key=key)
    again = refund(order, finance, "10.00", key=key)
    assert again.pk == first.pk
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("10.00")
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).count() == 1


def test_support_cannot_refund(role_user):
    order = delivered_card_order()
    with pytest.raises(RefundRefused):
        refund(order, role_user("support"), "10.00")
    assert not RefundRequest.objects.exists()


def test_above_the_threshold_money_waits_for_a_second_person(finance, finance_2):
    order = delivered_card_order()
    pending = refund(order, finance, "80.00")
    assert pending.status == RefundRequest.Status.PENDING
    assert balance(order) == Decimal("0.00")
    # The pending amount is held back: only 20.00 is left to ask for.
    with pytest.raises(RefundRefused, match="20.00"):
        refund(order, finance, "30.00")

    with pytest.raises(RefundRefused):
        approve_refund(refund=pending, actor=finance)  # asked for it themself
    assert balance(order) == Decimal("0.00")

    done = approve_refund(refund=pending, actor=finance_2)
    assert done.status == RefundRequest.Status.REFUNDED
    assert done.decided_by == finance_2
    assert balance(order) == Decimal("80.00")
    approve_refund(refund=pending, actor=finance_2)  # a second click: nothing more
    assert balance(order) == Decimal("80.00")
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED


def test_support_cannot_approve(finance, role_user):
    order = delivered_card_order()
    pending = refund(order, finance, "80.00")
    with pytest.raises(RefundRefused):
        approve_refund(refund=pending, actor=role_user("support"))
    pending.refresh_from_db()
    assert pending.status == RefundRequest.Status.PENDING


def test_a_rejected_refund_moves_no_money_and_frees_the_amount(finance, finance_2):
    order = delivered_card_order()
    pending = refund(order, finance, "80.00")
    with pytest.raises(RefundRefused):
        reject_refund(refund=pending, actor=finance_2, note="")
    reject_refund(refund=pending, actor=finance_2, note="买家已收到补发")
    assert balance(order) == Decimal("0.00")
    with pytest.raises(RefundRefused):
        approve_refund(refund=pending, actor=finance_2)
    refund(order, finance, "50.00")  # the 80.00 is no longer held back
    assert balance(order) == Decimal("50.00")


def test_codes_are_voided_only_when_staff_marked_them_invalid(finance):
    kept = delivered_card_order()
    refund(kept, finance, "50.00")
    assert set(
        CardCode.objects.filter(pk__in=kept.delivery["code_ids"]).values_list(
            "status", flat=True
        )
    ) == {"sold"}

    voided = delivered_card_order()
    refund(voided, finance, "50.00", void_codes=True)
    assert set(
        CardCode.objects.filter(pk__in=voided.delivery["code_ids"]).values_list(
            "status", flat=True
        )
    ) == {"void"}


def test_a_guest_order_is_not_refunded_to_a_wallet(finance):
    order = delivered_card_order()
    Order.objects.filter(pk=order.pk).update(
        buyer=None, contact="a@example.com", contact_index=blind_index("a@example.com")
    )
    order.refresh_from_db()
    with pytest.raises(RefundRefused):
        refund(order, finance, "10.00")
