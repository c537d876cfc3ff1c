"""What staff may hand over by hand, and the audited way to settle a top-up
stuck at its suppliers. A stuck top-up is reached through the services: paid
from the wallet, its step never queued (no supplier here), then taken by a
supplier that gives no clear answer."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import translation

from catalog.suppliers.base import ResultStatus, SupplierResult, SupplierTimeout
from orders.checkout import pay_with_wallet, place_order
from orders.exceptions import DeliveryRefused
from orders.fulfilment import (
    MAX_UNCLEAR_QUERIES,
    advance_fulfilment,
    apply_result,
    deliver_manually,
    resolve_stuck_topup,
)
from orders.models import Fulfilment, Order, Ticket
from orders.transitions import open_abnormal_ticket, transition_order
from tests.catalog.factories import make_sku
from tests.catalog.suppliers_factories import make_offer, make_supplier, make_topup_sku
from tests.orders.factories import make_buyer, stock_codes
from users.models import LedgerEntry

pytestmark = pytest.mark.django_db

ACCOUNT = {"phone": "13800138000"}
FIELDS = [{"key": "phone", "label": "手机号", "rule": "phone"}]


def paid(sku, buyer=None, **extra) -> Order:
    buyer = buyer or make_buyer(Decimal("100.00"))
    order = place_order(sku=sku, quantity=1, buyer=buyer, **extra)
    return pay_with_wallet(order=order, actor=buyer)


def stuck_topup(*, buyer=None) -> Order:
    """A paid top-up a supplier took and keeps giving no clear answer about."""
    sku = make_topup_sku(price=Decimal("49.60"), recharge_fields=FIELDS)
    order = paid(sku, buyer, recharge_account=ACCOUNT)
    Fulfilment.objects.filter(order=order).update(
        state=Fulfilment.State.SUBMITTED, trade_no="UP-77", last_error="timeout"
    )
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        transition_order(order=locked, to=Order.Status.DELIVERING, reason="supplier")
    open_abnormal_ticket(
        order=order,
        flag=Order.Flag.SUPPLIER_FAILURE,
        message="Supplier gives no clear answer",
    )
    order.refresh_from_db()
    return order


@pytest.fixture
def staff(role_user):
    return role_user("operations")


def _snapshot(order: Order):
    order.refresh_from_db()
    job = Fulfilment.objects.filter(order=order).first()
    return (
        order.status,
        order.delivery,
        order.events.count(),
        job.state if job else None,
    )


# Manual delivery ------------------------------------------------------------------
def test_a_manual_order_is_delivered_by_hand_with_the_staff_member_on_record(staff):
    order = paid(make_sku(delivery_type="manual", stock_mode="unlimited"))
    assert order.status == Order.Status.PAID
    deliver_manually(order=order, actor=staff, note="账号 abc 密码 123")
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert order.delivery == {"note": "账号 abc 密码 123"}
    assert order.events.last().actor == staff


def test_a_delivering_top_up_cannot_be_delivered_by_hand(staff):
    order = stuck_topup()
    before = _snapshot(order)
    with translation.override("zh-hans"):
        with pytest.raises(DeliveryRefused) as refused:
            deliver_manually(order=order, actor=staff, note="已经充好了")
        message = str(refused.value.message)
    assert "只有人工发货" in message and order.order_no in message
    assert _snapshot(order) == before


def test_a_card_order_cannot_be_delivered_by_hand(staff):
    sku = make_sku()
    stock_codes(sku, 1)
    order = paid(sku)
    with pytest.raises(DeliveryRefused):
        deliver_manually(order=order, actor=staff, note="x")


def test_the_deliver_page_refuses_a_top_up_and_changes_nothing(client, staff):
    order = stuck_topup()
    before = _snapshot(order)
    client.force_login(staff)
    page = client.get(f"/admin/orders/deliver/{order.pk}/")
    assert page.status_code == 200
    assert page.context["form"] is None  # nothing to fill in
    assert "只有人工发货" in page.content.decode()
    response = client.post(f"/admin/orders/deliver/{order.pk}/", {"note": "done"})
    assert response.status_code == 200
    assert _snapshot(order) == before


def test_the_deliver_page_hands_over_a_manual_order(client, staff):
    order = paid(make_sku(delivery_type="manual", stock_mode="unlimited"))
    client.force_login(staff)
    assert client.get(f"/admin/orders/deliver/{order.pk}/").context["form"]
    response = client.post(f"/admin/orders/deliver/{order.pk}/", {"note": "卡号 1"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED


# Resolving a stuck top-up ---------------------------------------------------------
def test_staff_confirm_a_stuck_top_up_was_credited(staff):
    order = stuck_topup()
    buyer = order.buyer
    resolve_stuck_topup(
        order=order, actor=staff, credited=True, reason="供应商客服确认已到账"
    )
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert order.delivery["trade_no"] == "UP-77"
    event = order.events.last()
    assert (event.from_status, event.to_status) == ("delivering", "delivered")
    assert event.actor == staff and "供应商客服确认已到账" in event.reason
    assert Fulfilment.objects.get(order=order).state == Fulfilment.State.SUCCEEDED
    ticket = Ticket.objects.get(order=order)
    assert ticket.status == Ticket.Status.RESOLVED
    assert ticket.resolved_at is not None  # the ticket's SLA clock stops
    assert ticket.messages.filter(author=staff).exists()
    assert not LedgerEntry.objects.filter(
        wallet__user=buyer, kind=LedgerEntry.Kind.REFUND
    ).exists()
    # Final: no further step calls a supplier for it.
    assert advance_fulfilment(order_id=order.pk) is None


def test_staff_confirm_nothing_was_credited_and_the_buyer_is_refunded(staff):
    order = stuck_topup()
    resolve_stuck_topup(
        order=order, actor=staff, credited=False, reason="供应商查无此单"
    )
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert order.refunded_amount == order.amount == Decimal("49.60")
    assert [(e.to_status, e.actor) for e in order.events.order_by("id")][-2:] == [
        ("failed", staff),
        ("refunded", staff),
    ]
    assert "供应商查无此单" in order.events.get(to_status="failed").reason
    refund = LedgerEntry.objects.get(
        reference=order.order_no, kind=LedgerEntry.Kind.REFUND
    )
    assert refund.amount == Decimal("49.60")
    assert Fulfilment.objects.get(order=order).state == Fulfilment.State.FAILED
    assert Ticket.objects.get(order=order).status == Ticket.Status.RESOLVED


def test_a_guest_top_up_failed_by_staff_leaves_its_ticket_open_for_finance(staff):
    sku = make_topup_sku(price=Decimal("49.60"), recharge_fields=FIELDS)
    order = place_order(
        sku=sku, quantity=1, contact="guest@example.com", recharge_account=ACCOUNT
    )
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        transition_order(order=locked, to=Order.Status.PAID, reason="sandbox T1")
        Fulfilment.objects.create(
            order=locked,
            state=Fulfilment.State.SUBMITTED,
            next_attempt_at=locked.paid_at,
        )
    resolve_stuck_topup(order=order, actor=staff, credited=False, reason="查无此单")
    order.refresh_from_db()
    assert order.status == Order.Status.FAILED
    ticket = Ticket.objects.get(order=order)
    assert ticket.status == Ticket.Status.OPEN
    assert "查无此单" in ticket.messages.first().body


@pytest.mark.parametrize("reason", ["", "   "])
def test_resolving_needs_a_reason(staff, reason):
    order = stuck_topup()
    before = _snapshot(order)
    with pytest.raises(DeliveryRefused):
        resolve_stuck_topup(order=order, actor=staff, credited=True, reason=reason)
    assert _snapshot(order) == before


def test_only_a_top_up_waiting_at_a_supplier_can_be_resolved(staff):
    sku = make_sku()
    stock_codes(sku, 1)
    card = paid(sku)
    with pytest.raises(DeliveryRefused):
        resolve_stuck_topup(order=card, actor=staff, credited=True, reason="x")
    done = stuck_topup()
    resolve_stuck_topup(order=done, actor=staff, credited=True, reason="到账")
    before = _snapshot(done)
    with pytest.raises(DeliveryRefused):  # a second resolution changes nothing
        resolve_stuck_topup(order=done, actor=staff, credited=False, reason="x")
    assert _snapshot(done) == before


def test_a_supplier_success_after_staff_failed_it_delivers_nothing(staff):
    """A step was still waiting on the supplier when staff failed the top-up:
    its late success opens a ticket; it neither delivers nor moves the order."""
    order = stuck_topup()
    running = Fulfilment.objects.select_related("offer__supplier", "order").get(
        order=order
    )
    resolve_stuck_topup(order=order, actor=staff, credited=False, reason="查无此单")
    outcome = apply_result(
        job=running,
        result=SupplierResult(status=ResultStatus.SUCCESS, trade_no="UP-LATE"),
        queried=True,
    )
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert Fulfilment.objects.get(order=order).state == Fulfilment.State.FAILED
    assert outcome == Fulfilment.State.FAILED
    ticket = Ticket.objects.get(order=order, status=Ticket.Status.OPEN)
    assert "UP-LATE" in ticket.messages.get().body


def test_staff_settling_it_during_a_supplier_call_is_not_undone(staff, monkeypatch):
    """Staff resolve the top-up while a step is asking the supplier, which times
    out once more: the step flags nothing and moves nothing afterwards."""
    order = stuck_topup()
    job = Fulfilment.objects.get(order=order)
    job.offer = make_offer(make_supplier(), order.sku)
    job.attempts = MAX_UNCLEAR_QUERIES - 1  # this timeout would flag it as stuck
    job.save()
    Ticket.objects.filter(order=order).update(status=Ticket.Status.RESOLVED)

    def supplier_call_during_which_staff_resolve(**call):
        resolve_stuck_topup(order=order, actor=staff, credited=True, reason="到账")
        raise SupplierTimeout("no answer")

    monkeypatch.setattr(
        "orders.fulfilment.call_supplier", supplier_call_during_which_staff_resolve
    )
    advance_fulfilment(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert Fulfilment.objects.get(order=order).state == Fulfilment.State.SUCCEEDED
    assert not Ticket.objects.filter(
        order=order, status__in=[Ticket.Status.OPEN, Ticket.Status.PENDING]
    ).exists()


# The back-office page -------------------------------------------------------------
def test_the_resolve_page_settles_a_stuck_top_up(client, staff):
    order = stuck_topup()
    client.force_login(staff)
    page = client.get(f"/admin/orders/resolve-topup/{order.pk}/")
    assert page.status_code == 200 and "UP-77" in page.content.decode()
    response = client.post(
        f"/admin/orders/resolve-topup/{order.pk}/",
        {"outcome": "credited", "reason": "供应商后台显示成功"},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert order.events.last().actor == staff


def test_the_resolve_page_wants_a_reason_and_an_outcome(client, staff):
    order = stuck_topup()
    before = _snapshot(order)
    client.force_login(staff)
    for data in ({"outcome": "credited", "reason": ""}, {"reason": "x"}):
        response = client.post(f"/admin/orders/resolve-topup/{order.pk}/", data)
        assert response.status_code == 200
        assert response.context["form"].errors
    assert _snapshot(order) == before


def test_the_resolve_page_needs_the_deliver_permission(client, role_user):
    order = stuck_topup()
    before = _snapshot(order)
    client.force_login(role_user("support"))
    response = client.post(
        f"/admin/orders/resolve-topup/{order.pk}/",
        {"outcome": "credited", "reason": "x"},
    )
    assert response.status_code == 403
    assert _snapshot(order) == before
