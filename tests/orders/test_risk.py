"""Risk: buyers flagged for frequent after-sales, the checkout blacklist, and
flagged buyers' orders held for review until staff release or refuse them."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import CardCode
from orders.checkout import buy_with_wallet, place_order
from orders.exceptions import CheckoutRefused, DeliveryRefused
from orders.models import BlacklistEntry, Order, RefundRequest, Ticket
from orders.refunds import request_refund
from orders.review import refuse_held_order, release_held_order
from orders.risk import (
    add_to_blacklist,
    blacklist_hit,
    flag_for,
    flags_for,
    recount_all,
    recount_buyer,
)
from orders.transitions import ALLOWED
from tests.catalog.factories import make_sku
from tests.marketing.flash_helpers import make_flash_sale
from tests.orders.aftersales_helpers import delivered_card_order
from tests.orders.factories import make_buyer, stock_codes
from users.models import LedgerEntry, RiskFlag
from users.services import credit_wallet

pytestmark = pytest.mark.django_db
S = Order.Status


@pytest.fixture(autouse=True)
def limits(settings):
    settings.RISK_AFTER_SALES_LIMIT = 2
    settings.RISK_WINDOW_DAYS = 30
    settings.RISK_HOLD_FLAGGED_ORDERS = True
    settings.REFUND_APPROVAL_THRESHOLD = Decimal("1000.00")


@pytest.fixture
def finance(role_user):
    return role_user("finance", "finance-risk")


def refund_one(order, actor, amount="10.00"):
    return request_refund(
        order=order,
        amount=Decimal(amount),
        reason="卡密无效",
        actor=actor,
        key=uuid.uuid4(),
    )


def test_a_buyer_is_flagged_only_above_the_limit(finance):
    """Two refunds is the limit; the third flags the buyer, with the counts."""
    buyer = make_buyer(Decimal("0.00"), password="x-test-password")
    orders = [delivered_card_order(buyer=buyer) for _ in range(3)]
    refund_one(orders[0], finance)
    refund_one(orders[1], finance)
    assert flag_for(buyer) is None
    refund_one(orders[2], finance)
    flag = flag_for(buyer)
    assert flag is not None and flag.refunds == 3
    assert "3" in flag.label
    assert flags_for([buyer.pk, None, buyer.pk + 999]) == {buyer.pk: flag}


def test_reissue_tickets_count_with_refunds(finance):
    buyer = make_buyer(Decimal("0.00"), password="x-test-password")
    order = delivered_card_order(buyer=buyer)
    refund_one(order, finance)
    for _ in range(2):
        Ticket.objects.create(
            kind=Ticket.Kind.REISSUE, order=order, buyer=buyer, subject="补发"
        )
    recount_buyer(buyer_id=buyer.pk)
    flag = flag_for(buyer)
    assert (flag.refunds, flag.reissues) == (1, 2)


def test_a_failed_topups_refund_does_not_count(finance):
    """Money back on an order never delivered is not after-sales."""
    buyer = make_buyer(Decimal("0.00"), password="x-test-password")
    for _ in range(3):
        order = delivered_card_order(buyer=buyer)
        Order.objects.filter(pk=order.pk).update(delivered_at=None)
        refund_one(order, finance)
    assert flag_for(buyer) is None


def test_flags_age_out_of_the_window_at_the_nightly_recount(finance):
    buyer = make_buyer(Decimal("0.00"), password="x-test-password")
    for _ in range(3):
        refund_one(delivered_card_order(buyer=buyer), finance)
    assert flag_for(buyer) is not None
    RefundRequest.objects.update(created_at=timezone.now() - timedelta(days=31))
    assert recount_all() == 0
    assert flag_for(buyer) is None


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        (BlacklistEntry.Kind.ACCOUNT, "Risky-Buyer", "此账号"),
        (BlacklistEntry.Kind.CONTACT, "BAD@example.com ", "此邮箱或手机号"),
        (BlacklistEntry.Kind.IP, "203.0.113.9", "您所在的网络"),
        (BlacklistEntry.Kind.RECHARGE_ACCOUNT, "13800138000", "此充值账号"),
    ],
)
def test_a_blacklisted_value_blocks_checkout_with_a_clear_message(
    kind, value, message, finance, sale_path
):
    add_to_blacklist(kind=kind, value=value, reason="多次恶意退款", actor=finance)
    sku = make_sku(price=Decimal("10.00"), max_quantity=5)
    stock_codes(sku, 1)
    buyer = make_buyer(Decimal("10.00"))
    buyer.username, buyer.email = "risky-buyer", "bad@example.com"
    buyer.save()
    with pytest.raises(CheckoutRefused) as refused:
        buy_with_wallet(
            sku=sku,
            quantity=1,
            buyer=buyer,
            ip="203.0.113.9",
            recharge_account={"account": "13800138000"},
        )
    assert message in refused.value.message
    assert "恶意" not in refused.value.message  # staff's reason stays internal
    assert not Order.objects.exists()
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("10.00")


def test_a_blocked_buyer_short_of_balance_is_told_of_the_block(finance, sale_path):
    """The block comes first, as on the ORM path: topping up would not help."""
    add_to_blacklist(
        kind=BlacklistEntry.Kind.ACCOUNT, value="poor-risky", reason="x", actor=finance
    )
    sku = make_sku(price=Decimal("10.00"))
    stock_codes(sku, 1)
    buyer = make_buyer(Decimal("1.00"))
    buyer.username = "poor-risky"
    buyer.save()
    with pytest.raises(CheckoutRefused) as refused:
        buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    assert "此账号" in refused.value.message
    assert not Order.objects.exists()


def test_a_blocked_buyer_at_a_sold_out_flash_sale_is_told_of_the_block(
    finance, sale_path
):
    """On the hand-written sale the flash claim comes before the debit that
    asks the blacklist; a refused claim asks it first."""
    add_to_blacklist(
        kind=BlacklistEntry.Kind.ACCOUNT, value="late-risky", reason="x", actor=finance
    )
    sku = make_sku(price=Decimal("10.00"))
    stock_codes(sku, 3)
    make_flash_sale(sku, price=Decimal("5.00"), cap=1, per_buyer=1)
    buy_with_wallet(sku=sku, quantity=1, buyer=make_buyer(Decimal("10.00")))
    buyer = make_buyer(Decimal("10.00"))
    buyer.username = "late-risky"
    buyer.save()
    with pytest.raises(CheckoutRefused) as refused:
        buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    assert "此账号" in refused.value.message
    assert Order.objects.filter(buyer=buyer).count() == 0


def test_an_entry_for_someone_else_blocks_nothing(finance, sale_path):
    add_to_blacklist(
        kind=BlacklistEntry.Kind.IP, value="203.0.113.9", reason="x", actor=finance
    )
    sku = make_sku(price=Decimal("10.00"))
    stock_codes(sku, 1)
    buyer = make_buyer(Decimal("10.00"))
    order = buy_with_wallet(sku=sku, quantity=1, buyer=buyer, ip="203.0.113.10")
    assert order.status == S.DELIVERED


def test_a_guest_contact_is_blocked_and_others_buy(finance):
    add_to_blacklist(
        kind=BlacklistEntry.Kind.CONTACT,
        value="13900000000",
        reason="拒付",
        actor=finance,
    )
    sku = make_sku(price=Decimal("10.00"), max_quantity=5)
    with pytest.raises(CheckoutRefused):
        place_order(sku=sku, quantity=1, contact=" 13900000000 ")
    order = place_order(sku=sku, quantity=1, contact="13900000001", ip="10.0.0.1")
    assert order.status == S.PENDING_PAYMENT


def test_a_switched_off_entry_blocks_nothing(finance):
    entry = add_to_blacklist(
        kind=BlacklistEntry.Kind.IP, value="10.1.1.1", reason="x", actor=finance
    )
    BlacklistEntry.objects.filter(pk=entry.pk).update(active=False)
    sku = make_sku(price=Decimal("10.00"), max_quantity=5)
    assert place_order(sku=sku, quantity=1, contact="a@b.cn", ip="10.1.1.1")


def test_the_blacklist_check_is_one_query(django_assert_num_queries):
    buyer = make_buyer(Decimal("0.00"))
    with django_assert_num_queries(1):
        blacklist_hit(
            buyer=buyer, contact="x@y.cn", ip="1.2.3.4", recharge_account={"a": "1"}
        )


def flagged_buyer(finance):
    buyer = make_buyer(Decimal("0.00"), password="x-test-password")
    for _ in range(3):
        refund_one(delivered_card_order(buyer=buyer), finance)
    assert flag_for(buyer) is not None
    return buyer


def test_a_flagged_buyers_order_is_held_and_gets_no_codes(finance):
    buyer = flagged_buyer(finance)
    order = delivered_card_order(buyer=buyer)
    assert order.status == S.HELD
    assert order.delivery == {}
    assert not CardCode.objects.filter(
        order_ref=order.order_no, status=CardCode.Status.SOLD
    ).exists()


def test_a_released_order_is_delivered(finance, role_user):
    buyer = flagged_buyer(finance)
    order = delivered_card_order(buyer=buyer)
    paid_at = order.paid_at
    operator = role_user("operations", "ops-risk")
    order = release_held_order(order=order, actor=operator, reason="核实为本人")
    assert order.status == S.DELIVERED
    assert len(order.delivery["code_ids"]) == order.quantity
    assert order.paid_at == paid_at
    assert order.events.filter(from_status=S.HELD, actor=operator).exists()


def test_a_refused_order_is_refunded_with_the_reason(finance, role_user):
    buyer = flagged_buyer(finance)
    order = delivered_card_order(buyer=buyer)
    buyer.wallet.refresh_from_db()
    before = buyer.wallet.balance
    order = refuse_held_order(
        order=order, actor=role_user("operations", "ops-2"), reason="疑似盗号"
    )
    assert order.status == S.REFUNDED
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == before + order.amount
    assert "疑似盗号" in order.refunds.get().reason
    entry = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).first()
    assert entry.reference == order.order_no


def test_held_decisions_need_the_permission_and_a_reason(finance, role_user):
    buyer = flagged_buyer(finance)
    order = delivered_card_order(buyer=buyer)
    with pytest.raises(DeliveryRefused):
        release_held_order(order=order, actor=role_user("support"), reason="ok")
    with pytest.raises(DeliveryRefused):
        release_held_order(order=order, actor=role_user("operations"), reason=" ")
    order.refresh_from_db()
    assert order.status == S.HELD


def test_nothing_is_held_when_holding_is_off(finance, settings):
    buyer = flagged_buyer(finance)
    settings.RISK_HOLD_FLAGGED_ORDERS = False
    assert delivered_card_order(buyer=buyer).status == S.DELIVERED


def test_the_hold_state_is_in_the_transition_table():
    assert S.HELD in ALLOWED[S.PAID]
    assert ALLOWED[S.HELD] == {S.PAID, S.REFUNDED}
    assert S.HELD not in ALLOWED[S.DELIVERED]


def test_unflagged_buyers_are_not_held():
    buyer = make_buyer(Decimal("100.00"))
    credit_wallet(user=buyer, amount=Decimal("1.00"), kind=LedgerEntry.Kind.TOPUP)
    assert not RiskFlag.objects.exists()
    assert delivered_card_order(buyer=buyer).status == S.DELIVERED
