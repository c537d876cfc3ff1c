"""Staff actions on one order from the workbench: each is offered only to those
who may take it, asks a reason, says what it will do, and only then does it
(through the fulfilment and checkout services)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Sku
from kameng import crypto
from kameng.models import AuditEntry
from orders.checkout import pay_with_wallet, place_order
from orders.exceptions import DeliveryRefused
from orders.fulfilment import retry_fulfilment, switch_supplier
from orders.models import Fulfilment, Order, OrderEvent, OrderNote
from orders.refunds import refund_to_wallet
from tests.catalog.factories import make_sku
from tests.catalog.suppliers_factories import make_offer, make_supplier, make_topup_sku
from tests.orders.factories import make_buyer, stock_codes
from tests.orders.workbench_helpers import make_order

pytestmark = pytest.mark.django_db

ACTIONS = ("retry_fulfilment", "switch_supplier", "mark_delivered", "cancel_order")
LONG_AGO = timezone.now() - timedelta(hours=1)


@pytest.fixture
def offers():
    sku = make_topup_sku(price=Decimal("50.00"))
    return (
        make_offer(make_supplier(name="快充"), sku, priority=1),
        make_offer(make_supplier(name="慢充"), sku, priority=2),
    )


def topup(offers, *, state, status, buyer=None, **job) -> Order:
    first, _second = offers
    order = make_order(
        first.sku,
        buyer=buyer,
        status=status,
        amount=Decimal("50.00"),
        flag=Order.Flag.SUPPLIER_FAILURE if state == "failed" else "",
    )
    Fulfilment.objects.create(
        order=order, offer=first, state=state, next_attempt_at=LONG_AGO, **job
    )
    Fulfilment.objects.filter(order=order).update(updated_at=LONG_AGO)
    return order


@pytest.fixture
def failed_guest_topup(offers):
    """No supplier delivered; a guest's money waits for finance (not refunded)."""
    return topup(offers, state="failed", status=Order.Status.FAILED)


@pytest.fixture
def ops(client, role_user):
    user = role_user("operations")
    client.force_login(user)
    return user


def order_page(client, order) -> str:
    response = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("role", ["support", "finance", "marketing"])
@pytest.mark.parametrize("action", ACTIONS)
def test_the_action_pages_refuse_roles_without_the_permission(
    client, role_user, failed_guest_topup, role, action
):
    client.force_login(role_user(role))
    url = reverse(f"orders:{action}", args=[failed_guest_topup.pk])
    assert client.get(url).status_code == 403
    response = client.post(url, {"reason": "试试", "confirm": "1"})
    assert response.status_code == 403
    failed_guest_topup.refresh_from_db()
    assert failed_guest_topup.status == Order.Status.FAILED


def test_support_sees_no_action_and_finance_only_the_refund(client, role_user, offers):
    delivered = make_order(offers[0].sku, buyer=make_buyer())
    client.force_login(role_user("support"))
    page = order_page(client, delivered)
    assert 'data-testid="action-' not in page
    assert "您目前不能对此订单执行任何操作" in page
    client.force_login(role_user("finance"))
    page = order_page(client, delivered)
    assert 'data-testid="action-refund"' in page
    assert 'data-testid="action-retry"' not in page


def test_operations_are_offered_retry_and_switch_on_a_top_up(
    client, ops, failed_guest_topup
):
    page = order_page(client, failed_guest_topup)
    assert 'data-testid="action-retry"' in page
    assert 'data-testid="action-switch"' in page
    assert 'data-testid="action-refund"' not in page


def test_a_retry_asks_a_reason_then_says_what_it_will_do_then_does_it(
    client, ops, failed_guest_topup
):
    url = reverse("orders:retry_fulfilment", args=[failed_guest_topup.pk])
    no_reason = client.post(url, {"reason": "  "})
    assert no_reason.status_code == 200
    assert no_reason.context["form"].errors["reason"]

    plan = client.post(url, {"reason": "货源已恢复"})
    body = plan.content.decode()
    assert 'data-testid="action-plan"' in body
    assert "订单将从“失败”回到“发货中”" in body
    failed_guest_topup.refresh_from_db()
    assert failed_guest_topup.status == Order.Status.FAILED  # nothing done yet

    done = client.post(url, {"reason": "货源已恢复", "confirm": "1"})
    assert done.status_code == 302
    failed_guest_topup.refresh_from_db()
    assert failed_guest_topup.status == Order.Status.DELIVERING
    job = Fulfilment.objects.get(order=failed_guest_topup)
    assert (job.state, job.offer_id, job.tried_offers) == ("pending", None, [])
    event = OrderEvent.objects.filter(order=failed_guest_topup).latest("id")
    assert event.actor == ops
    assert "货源已恢复" in event.reason


def test_a_failed_top_up_already_refunded_is_not_retried(offers, role_user):
    order = topup(
        offers, state="failed", status=Order.Status.FAILED, buyer=make_buyer()
    )
    refund_to_wallet(order=order, reason="充值失败")
    with pytest.raises(DeliveryRefused, match="款项正在或已经退回"):
        retry_fulfilment(order=order, actor=role_user("operations"), reason="再试")


def test_a_waiting_top_up_is_retried_now_with_an_internal_note(offers, role_user):
    order = topup(offers, state="pending", status=Order.Status.DELIVERING, attempts=2)
    staff = role_user("operations")
    retry_fulfilment(order=order, actor=staff, reason="买家催单")
    job = Fulfilment.objects.get(order=order)
    assert job.next_attempt_at <= timezone.now()
    assert job.offer_id == offers[0].pk  # same supplier, sooner
    note = OrderNote.objects.get(order=order)
    assert (note.author, note.visible_to_buyer) == (staff, False)
    assert "买家催单" in note.body


def test_a_job_touched_just_now_is_left_to_its_worker(offers, role_user):
    order = topup(offers, state="submitted", status=Order.Status.DELIVERING)
    Fulfilment.objects.filter(order=order).update(updated_at=timezone.now())
    with pytest.raises(DeliveryRefused, match="可能正在调用货源"):
        retry_fulfilment(order=order, actor=role_user("operations"), reason="重试")


def test_a_top_up_without_a_clear_answer_is_never_switched(offers, role_user):
    """Its supplier may have topped the account up already."""
    order = topup(offers, state="submitted", status=Order.Status.DELIVERING)
    with pytest.raises(DeliveryRefused, match="尚无明确结果"):
        switch_supplier(
            order=order, offer=offers[1], actor=role_user("operations"), reason="慢"
        )
    assert Fulfilment.objects.get(order=order).offer_id == offers[0].pk


def test_switching_supplier_through_the_page(client, ops, offers):
    order = topup(offers, state="pending", status=Order.Status.DELIVERING)
    url = reverse("orders:switch_supplier", args=[order.pk])
    form = client.get(url).content.decode()
    assert "慢充" in form and "快充" not in form.split("改由以下货源充值")[1][:300]
    plan = client.post(url, {"offer": offers[1].pk, "reason": "快充维护中"})
    assert "立即改由 慢充 充值" in plan.content.decode()
    assert Fulfilment.objects.get(order=order).offer_id == offers[0].pk
    client.post(url, {"offer": offers[1].pk, "reason": "快充维护中", "confirm": "1"})
    job = Fulfilment.objects.get(order=order)
    assert job.offer_id == offers[1].pk
    assert job.tried_offers == [offers[0].pk]
    assert "快充维护中" in OrderNote.objects.get(order=order).body
    audit = AuditEntry.objects.get(action="order.switch_supplier")
    assert (audit.actor, audit.object_id) == (ops, str(order.pk))
    assert (audit.before["supplier"], audit.after["supplier"]) == ("快充", "慢充")


def test_cancel_an_unpaid_order_with_a_reason(client, ops):
    order = make_order(make_sku(), status=Order.Status.PENDING_PAYMENT)
    url = reverse("orders:cancel_order", args=[order.pk])
    plan = client.post(url, {"reason": "买家要求取消"})
    assert "买家将无法再为此订单付款" in plan.content.decode()
    client.post(url, {"reason": "买家要求取消", "confirm": "1"})
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert "买家要求取消" in order.events.latest("id").reason


def test_a_paid_order_is_not_cancelled(client, ops):
    order = make_order(make_sku(), buyer=make_buyer())
    response = client.post(
        reverse("orders:cancel_order", args=[order.pk]),
        {"reason": "x", "confirm": "1"},
    )
    assert "只能取消未付款的订单" in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED


def test_mark_a_manual_order_delivered_after_confirming(client, ops):
    sku = make_sku(delivery_type=Sku.DeliveryType.MANUAL)
    order = make_order(sku, buyer=make_buyer(), status=Order.Status.PAID)
    assert 'data-testid="action-deliver"' in order_page(client, order)
    url = reverse("orders:mark_delivered", args=[order.pk])
    assert client.post(url, {"note": ""}).context["form"].errors["note"]
    client.post(url, {"note": "账号 abc 密码已发至邮箱"})
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    client.post(url, {"note": "账号 abc 密码已发至邮箱", "confirm": "1"})
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert order.delivery == {"note": "账号 abc 密码已发至邮箱"}


def test_a_card_order_is_not_marked_delivered_by_hand(client, ops):
    order = make_order(make_sku(), buyer=make_buyer(), status=Order.Status.PAID)
    response = client.get(reverse("orders:mark_delivered", args=[order.pk]))
    assert 'data-testid="action-refused"' in response.content.decode()


def test_the_order_page_shows_codes_masked_and_the_buyers_other_orders(
    client, role_user, django_capture_on_commit_callbacks
):
    sku = make_sku(price=Decimal("9.80"))
    texts = stock_codes(sku, 2)
    buyer = make_buyer(Decimal("50.00"))
    earlier = make_order(sku, buyer=buyer)
    with django_capture_on_commit_callbacks(execute=True):
        order = pay_with_wallet(
            order=place_order(sku=sku, quantity=2, buyer=buyer), actor=buyer
        )
    client.force_login(role_user("support"))
    page = order_page(client, order)
    assert page.count('data-testid="masked-code"') == 2
    assert crypto.mask(texts[0]) in page
    assert texts[0] not in page and texts[1] not in page
    assert 'data-testid="reveal-code"' not in page
    assert earlier.order_no in page.split('data-testid="recent-orders"')[1]

    client.force_login(role_user("operations"))  # may reveal: one audited page
    page = order_page(client, order)
    assert page.count('data-testid="reveal-code"') == 2
    assert texts[0] not in page
