"""The checkout benchmark's SQL ceiling writes what a wallet card sale writes
(test_schema.py checks its names against the schema)."""

from decimal import Decimal

import pytest
from django.db import connection, transaction

from bench import ceiling
from catalog.models import CardCode, Sku
from orders.models import Order
from tests.catalog.factories import make_sku
from tests.catalog.test_codes import add_codes
from users.models import LedgerEntry, User, Wallet
from users.services import credit_wallet


def test_the_ceiling_writes_every_table_a_wallet_card_sale_writes():
    written = {
        statement.split()[1 if statement.startswith("UPDATE") else 2]
        for statement in (
            ceiling.DEBIT_WALLET,
            ceiling.INSERT_ORDER,
            ceiling.INSERT_LEDGER_ENTRY,
            ceiling.SELL_CODE,
            ceiling.COUNT_STOCK,
            ceiling.INSERT_EVENTS,
        )
    }
    assert written == {
        "users_wallet",
        "orders_order",
        "users_ledgerentry",
        "catalog_cardcode",
        "catalog_sku",
        "orders_orderevent",
    }


@pytest.mark.postgres
@pytest.mark.django_db
def test_one_ceiling_sale_sells_one_code_for_the_wallet_balance():
    sku = make_sku(price=Decimal("1.00"))
    first, second = add_codes(sku, ["CEIL-0001", "CEIL-0002"])
    buyer = User.objects.create_user(username="ceiling-buyer")
    credit_wallet(user=buyer, amount=Decimal("10.00"), kind=LedgerEntry.Kind.TOPUP)

    with transaction.atomic(), connection.cursor() as cursor:
        order_id = ceiling.sell_one(
            cursor,
            sku_id=sku.pk,
            buyer_id=buyer.pk,
            order_no="CEIL1",
            price=Decimal("1.00"),
        )

    order = Order.objects.get(pk=order_id)
    assert (order.order_no, order.status, order.amount) == (
        "CEIL1",
        Order.Status.DELIVERED,
        Decimal("1.00"),
    )
    assert [e.to_status for e in order.events.order_by("pk")] == [
        Order.Status.PAID,
        Order.Status.DELIVERED,
    ]
    sold = CardCode.objects.get(pk=first.pk)
    assert (sold.status, sold.order_ref) == (CardCode.Status.SOLD, "CEIL1")
    assert CardCode.objects.get(pk=second.pk).status == CardCode.Status.AVAILABLE
    assert Sku.objects.get(pk=sku.pk).stock == 1
    wallet = Wallet.objects.get(user=buyer)
    assert wallet.balance == Decimal("9.00")
    purchase = wallet.entries.get(kind=LedgerEntry.Kind.PURCHASE)
    assert (purchase.amount, purchase.balance_after, purchase.reference) == (
        Decimal("-1.00"),
        Decimal("9.00"),
        "CEIL1",
    )
