"""The ledger invariant, whatever happens in whatever order: after any sequence
of top-ups, purchases, refunds (full or partial, above or below the approval
threshold) and finance adjustments, every balance equals the sum of its ledger,
each row's balance_after is the running sum, nothing is below zero, and no
order is refunded beyond what was paid."""

import uuid
from decimal import Decimal

from django.contrib.auth.models import Group
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from kameng.exceptions import DomainError
from orders.checkout import buy_with_wallet
from orders.models import Order
from orders.refunds import approve_refund, request_refund
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer, stock_codes
from users.models import LedgerEntry, User, Wallet
from users.roles import ROLE_BY_CODE
from users.services import credit_wallet
from users.wallets import adjust_wallet, ledger_mismatches

CENTS = st.integers(min_value=1, max_value=20_000).map(lambda c: Decimal(c) / 100)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("topup"), CENTS),
        st.tuples(st.just("buy"), st.integers(0, 1), st.integers(1, 3)),
        st.tuples(st.just("refund"), st.integers(0, 9), st.integers(1, 100)),
        st.tuples(st.just("adjust"), CENTS, st.booleans()),
        st.tuples(st.just("approve"), st.integers(0, 9)),
    ),
    min_size=1,
    max_size=12,
)


def staff(code: str, username: str) -> User:
    user = User.objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=ROLE_BY_CODE[code].group_name))
    return user


@override_settings(
    REFUND_APPROVAL_THRESHOLD=Decimal("30.00"), RISK_HOLD_FLAGGED_ORDERS=True
)
class LedgerInvariant(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.finance = staff("finance", "fin-a")
        cls.finance_2 = staff("finance", "fin-b")
        cls.skus = [make_sku(price=Decimal("9.90")), make_sku(price=Decimal("25.00"))]
        for sku in cls.skus:
            stock_codes(sku, 40)

    @hypothesis_settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(operations=OPERATIONS)
    def test_every_balance_is_the_sum_of_its_ledger(self, operations):
        buyer = make_buyer(Decimal("0.00"))
        orders: list[Order] = []
        for operation in operations:
            try:
                self.apply(buyer, orders, operation)
            except DomainError:
                pass  # refused: nothing may have changed, as checked below
            self.assert_invariant(buyer, orders)

    def apply(self, buyer, orders, operation):
        kind = operation[0]
        if kind == "topup":
            credit_wallet(user=buyer, amount=operation[1], kind=LedgerEntry.Kind.TOPUP)
        elif kind == "buy":
            _kind, sku_index, quantity = operation
            orders.append(
                buy_with_wallet(
                    sku=self.skus[sku_index], quantity=quantity, buyer=buyer
                )
            )
        elif kind == "refund" and orders:
            _kind, index, percent = operation
            order = orders[index % len(orders)]
            order.refresh_from_db()
            amount = (order.amount * percent / 100).quantize(Decimal("0.01"))
            request_refund(
                order=order,
                amount=max(amount, Decimal("0.01")),
                reason="售后",
                actor=self.finance,
                key=uuid.uuid4(),
            )
        elif kind == "adjust":
            _kind, amount, credit = operation
            adjust_wallet(
                user=buyer,
                amount=amount if credit else -amount,
                reason="人工调整",
                actor=self.finance,
                key=uuid.uuid4(),
            )
        elif kind == "approve" and orders:
            order = orders[operation[1] % len(orders)]
            pending = order.refunds.filter(status="pending").first()
            if pending is not None:
                approve_refund(refund=pending, actor=self.finance_2)

    def assert_invariant(self, buyer, orders):
        assert ledger_mismatches() == []
        running = Decimal("0.00")
        for entry in LedgerEntry.objects.filter(wallet__user=buyer).order_by("id"):
            running += entry.amount
            assert entry.balance_after == running >= 0
        balance = Wallet.objects.filter(user=buyer).values_list("balance", flat=True)
        assert (balance.first() or Decimal("0.00")) == running
        for order in orders:
            order.refresh_from_db()
            assert Decimal("0.00") <= order.refunded_amount <= order.amount
