"""The checkout benchmark's SQL ceiling fits the schema and writes what a sale
writes; a renamed column or a new required one breaks these tests, not the bench."""

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


@pytest.mark.django_db
def test_the_ceiling_names_only_what_the_schema_has():
    assert ceiling.schema_problems(connection) == []


@pytest.mark.django_db
def test_a_missing_table_or_column_is_reported():
    problems = ceiling.schema_problems(
        connection,
        referenced={"orders_order": {"order_no", "no_such_column"}, "no_table": set()},
        inserted={},
    )
    assert problems == ["no table no_table", "no column orders_order.no_such_column"]


@pytest.mark.django_db
def test_an_insert_that_leaves_out_a_required_column_is_reported():
    inserted = dict(ceiling.INSERTED)
    inserted["orders_order"] = [c for c in inserted["orders_order"] if c != "amount"]
    problems = ceiling.schema_problems(
        connection, referenced=ceiling.REFERENCED, inserted=inserted
    )
    assert problems == ["INSERT INTO orders_order leaves out amount"]


def test_the_ceiling_covers_every_table_a_wallet_card_sale_writes():
    assert set(ceiling.INSERTED) == {
        "orders_order",
        "orders_orderevent",
        "users_ledgerentry",
    }
    assert {"users_wallet", "catalog_cardcode", "catalog_sku"} <= set(
        ceiling.REFERENCED
    )


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
