"""The order page staff answer buyers from: words, not JSON or codes; support sees
the timeline, the top-up at the supplier and its calls, but never a cost."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import SupplierCall
from orders.admin import readable_reason
from orders.checkout import pay_with_wallet, place_order
from orders.models import Fulfilment, Order, OrderEvent
from tests.catalog.factories import make_sku
from tests.catalog.suppliers_factories import make_offer, make_supplier
from tests.orders.factories import make_buyer, stock_codes

pytestmark = pytest.mark.django_db


def page(client, order) -> str:
    response = client.get(f"/admin/orders/order/{order.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def card_order(django_capture_on_commit_callbacks):
    sku = make_sku(price=Decimal("9.80"))
    stock_codes(sku, 2)
    buyer = make_buyer(Decimal("50.00"), first_name="小明")
    order = place_order(sku=sku, quantity=2, buyer=buyer)
    with django_capture_on_commit_callbacks(execute=True):
        return pay_with_wallet(order=order, actor=buyer)


@pytest.fixture
def topup_order():
    """A top-up that went to a supplier: its fulfilment row and two calls."""
    supplier = make_supplier(name="快充货源")
    offer = make_offer(supplier, cost=Decimal("47.35"))
    buyer = make_buyer()
    order = Order.objects.create(
        order_no="26112600000001",
        buyer=buyer,
        sku=offer.sku,
        quantity=1,
        unit_price=Decimal("50.00"),
        amount=Decimal("50.00"),
        price_breakdown={"layers": [{"code": "base", "unit_price": "50.00"}]},
        recharge_account={"phone": "13800138000"},
        delivery={"supplier_id": supplier.pk, "trade_no": "UP-778899"},
        status=Order.Status.DELIVERING,
    )
    OrderEvent.objects.create(
        order=order, from_status="paid", to_status="delivering", reason="supplier"
    )
    Fulfilment.objects.create(
        order=order,
        offer=offer,
        state=Fulfilment.State.PROCESSING,
        attempts=2,
        next_attempt_at=timezone.now() + timedelta(minutes=1),
        trade_no="UP-778899",
        last_error="上游繁忙",
    )
    for outcome, detail in (
        ("timeout", "供应商 3.00 秒内未应答。"),
        ("processing", ""),
    ):
        SupplierCall.objects.create(
            supplier=supplier,
            offer=offer,
            operation="submit",
            order_no=order.order_no,
            outcome=outcome,
            latency_ms=3001,
            detail=detail,
        )
    return order


def test_the_price_breakdown_is_a_table_of_named_layers(client, role_user, card_order):
    client.force_login(role_user("superadmin"))
    body = page(client, card_order)
    start = body.index("<th", body.index("价格明细"))  # the field's label
    breakdown = body[start : body.index("</table>", start)]
    assert "价格层" in breakdown  # the table's first column
    assert "基础价" in breakdown  # "Base price", not the code "base"
    assert "¥9.80" in breakdown and "¥19.60" in breakdown
    assert "layers" not in breakdown and "\\u" not in breakdown


def test_the_timeline_names_states_people_and_reasons(client, role_user, card_order):
    client.force_login(role_user("superadmin"))
    body = page(client, card_order)
    assert "待支付" in body and "已支付" in body and "已发货" in body
    assert "余额支付" in body  # the reason "wallet"
    assert "小明" in body  # the buyer who paid, by name
    assert "pending_payment" not in body


@pytest.mark.parametrize(
    "reason, shown",
    [
        ("wallet", "余额支付"),
        ("card codes", "已发放卡密"),
        ("supplier", "已提交货源充值"),
        ("sandbox T20261126", "通过沙箱支付网关（测试支付）付款，交易号 T20261126"),
        ("退款给买家", "退款给买家"),  # free text stays as written
        ("sandbox has two words", "sandbox has two words"),
        ("nochannel T1", "nochannel T1"),
        ("", ""),
    ],
)
def test_reasons_read_as_words(reason, shown):
    assert readable_reason(reason) == shown


def test_support_sees_timeline_delivery_and_supplier_calls(
    client, role_user, topup_order
):
    client.force_login(role_user("support"))
    body = page(client, topup_order)
    assert "已提交货源充值" in body  # timeline
    assert "货源处理中" in body  # the fulfilment state
    assert "已充值，货源交易号 UP-778899" in body  # the delivery
    assert "上游繁忙" in body  # the fulfilment's last error
    assert "供应商 3.00 秒内未应答。" in body  # a supplier call
    assert "13800138000" in body
    assert "47.35" not in body  # the offer's cost


def test_finance_sees_the_supplier_cost(client, role_user, topup_order):
    client.force_login(role_user("finance"))
    assert "¥47.35" in page(client, topup_order)


def test_marketing_cannot_open_orders(client, role_user, topup_order):
    client.force_login(role_user("marketing"))
    response = client.get(f"/admin/orders/order/{topup_order.pk}/change/")
    assert response.status_code == 403
