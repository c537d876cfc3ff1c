"""Guest orders paid at a gateway are refunded back through it: the sandbox
gateway refunds (once per request), a gateway without a refund API (epay)
leaves the refund on finance's list to make by hand; the order, the codes and
the buyer's page follow either way."""

import uuid
from decimal import Decimal

import pytest

from catalog.models import CardCode
from orders.models import Order, RefundRequest
from orders.payments.refunding import refund_at_gateway
from orders.payments.sandbox_remote import get_trade
from orders.payments.services import start_gateway_payment
from orders.refunds import approve_refund, request_refund
from orders.storefront.views import GUEST_ORDERS_KEY
from tests.orders.payments_helpers import card_order
from tests.orders.test_payments_epay import KEY, PID, recorded_notify

pytestmark = pytest.mark.django_db
Status = RefundRequest.Status


@pytest.fixture(autouse=True)
def threshold(settings):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal("100.00")


@pytest.fixture
def finance(role_user):
    return role_user("finance", "finance-gw")


def sandbox_paid_guest_order(client, quantity=2):
    order, _texts = card_order(codes=3, quantity=quantity, guest=True)
    url = start_gateway_payment(order=order, channel="sandbox")
    client.post(url, {"action": "pay"})
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    return order


@pytest.fixture
def refund(django_capture_on_commit_callbacks):
    """Ask for a refund the way the page does; what follows the commit (the
    gateway call, queued as a task) runs as it would."""

    def ask(order, actor, amount, key=None, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return request_refund(
                order=order,
                amount=Decimal(amount),
                reason="充值卡无效，原路退回",
                actor=actor,
                key=key or uuid.uuid4(),
                **kwargs,
            )

    return ask


def test_a_partial_guest_refund_goes_back_through_the_sandbox(refund, client, finance):
    order = sandbox_paid_guest_order(client)  # 2 × 9.80
    row = refund(order, finance, "5.00")
    row.refresh_from_db()
    assert row.status == Status.REFUNDED
    assert row.gateway_refund_no.startswith("SBR")
    trade = get_trade(order.order_no)
    assert [r["amount"] for r in trade["refunds"].values()] == ["5.00"]
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    assert order.refunded_amount == Decimal("5.00")


def test_the_rest_refunds_the_order_fully_and_voids_its_codes(refund, client, finance):
    order = sandbox_paid_guest_order(client)
    refund(order, finance, "5.00")
    refund(order, finance, "14.60", void_codes=True)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert set(
        CardCode.objects.filter(pk__in=order.delivery["code_ids"]).values_list(
            "status", flat=True
        )
    ) == {CardCode.Status.VOID}
    trade = get_trade(order.order_no)
    assert sorted(r["amount"] for r in trade["refunds"].values()) == [
        "14.60",
        "5.00",
    ]


def test_the_same_request_twice_refunds_once_at_the_gateway(refund, client, finance):
    order = sandbox_paid_guest_order(client)
    key = uuid.uuid4()
    first = refund(order, finance, "3.00", key=key)
    second = refund(order, finance, "3.00", key=key)
    assert first.pk == second.pk
    assert refund_at_gateway(refund_id=first.pk) is None  # already done
    assert len(get_trade(order.order_no)["refunds"]) == 1


def test_the_guest_sees_the_refund_and_its_reason(refund, client, finance):
    order = sandbox_paid_guest_order(client)
    refund(order, finance, "5.00")
    session = client.session
    session[GUEST_ORDERS_KEY] = [order.pk]  # the guest's own browser
    session.save()
    page = client.get(f"/shop/orders/{order.order_no}/").content.decode()
    assert "充值卡无效，原路退回" in page
    assert "已原路退回" in page and "至您的钱包" not in page


@pytest.fixture
def epay_on(settings):
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "epay": {
            "enabled": True,
            "url": "https://pay.example.com/",
            "pid": PID,
            "key": KEY,
            "type": "alipay",
        },
    }


def refund_list(client) -> str:
    """The rows of finance's list of refunds to finish at a gateway."""
    page = client.get("/admin/orders/gateway-refunds/").content.decode()
    return page.split('data-testid="gateway-refunds"')[1].split("</table>")[0]


def epay_paid_guest_order(client):
    order, _texts = card_order(codes=2, guest=True)
    assert (
        client.get(
            "/pay/epay/notify/", recorded_notify(order_no=order.order_no)
        ).content
        == b"success"
    )
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    return order


def test_epay_refunds_wait_for_finance_to_refund_by_hand(
    refund, client, finance, epay_on
):
    order = epay_paid_guest_order(client)
    row = refund(order, finance, "9.80")
    row.refresh_from_db()
    assert row.status == Status.BY_HAND
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED

    client.force_login(finance)
    listing = refund_list(client)
    assert order.order_no in listing and "需在支付渠道手工退款" in listing

    response = client.post(
        f"/admin/orders/gateway-refunds/{row.pk}/", {"reference": "  "}
    )
    assert response.status_code == 200  # a reference is needed
    row.refresh_from_db()
    assert row.status == Status.BY_HAND

    response = client.post(
        f"/admin/orders/gateway-refunds/{row.pk}/", {"reference": "EP-REFUND-778"}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.gateway_refund_no) == (Status.REFUNDED, "EP-REFUND-778")
    assert order.order_no not in refund_list(client)


def test_a_guest_refund_above_the_threshold_waits_for_a_second_person(
    refund, client, finance, role_user, settings, django_capture_on_commit_callbacks
):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal("1.00")
    order = sandbox_paid_guest_order(client)
    row = refund(order, finance, "5.00")
    assert row.status == Status.PENDING
    assert get_trade(order.order_no).get("refunds", {}) == {}
    with django_capture_on_commit_callbacks(execute=True):
        approve_refund(refund=row, actor=role_user("finance", "finance-gw-2"))
    row.refresh_from_db()
    assert row.status == Status.REFUNDED
    assert len(get_trade(order.order_no)["refunds"]) == 1


def test_support_may_not_see_the_gateway_refund_list(client, role_user):
    client.force_login(role_user("support"))
    assert client.get("/admin/orders/gateway-refunds/").status_code == 403
