"""The ceiling of a card sale: the rows one wallet checkout writes, as plain SQL.

The checkout benchmark compares the shop's orders/s over HTTP with this: the same
transaction (debit the wallet, insert the order and its ledger entry, pick and sell
one code, move the stock, record two order events) sent straight to PostgreSQL by
several psycopg connections, which is as fast as that sale can go on this database.

Every table and column name comes from model metadata through bench.schema, so a
renamed field fails at import, and tests/bench/test_schema.py checks what the
statements name against the migrated schema (and that each INSERT names every
column that has no default); tests/bench/test_ceiling.py runs one sale on Postgres.
"""

from __future__ import annotations

import os
import threading
import time
from decimal import Decimal

import psycopg
from django.conf import settings
from django.db import models

from bench.schema import column, insert_columns, table
from catalog.models import CardCode, Sku
from catalog.services.codes import PICK_AVAILABLE_SQL
from orders.models import Order, OrderEvent
from users.models import LedgerEntry, Wallet


def _insert(model: type[models.Model], values: dict[str, str], *, rows: int = 1):
    """INSERT of `rows` rows; `values` maps field names to SQL (a %s or now())."""
    row = "(" + ", ".join(values.values()) + ")"
    return (
        f"INSERT INTO {table(model)} ({insert_columns(model, *values)}) "
        f"VALUES {', '.join([row] * rows)}"
    )


_balance = column(Wallet, "balance")
DEBIT_WALLET = (
    f"UPDATE {table(Wallet)} SET {_balance} = {_balance} - %s, "
    f"{column(Wallet, 'updated_at')} = now() "
    f"WHERE {column(Wallet, 'user')} = %s RETURNING {column(Wallet, 'pk')}, {_balance}"
)
INSERT_ORDER = (
    _insert(
        Order,
        {
            "order_no": "%s",
            "buyer": "%s",
            "contact": "''",
            "contact_index": "''",
            "lookup_password": "''",
            "sku": "%s",
            "quantity": "1",
            "unit_price": "%s",
            "amount": "%s",
            "refunded_amount": "0",
            "price_breakdown": "'{}'",
            "recharge_account": "''",  # encrypted column: empty is ''
            "recharge_account_index": "'[]'",
            "delivery": "'{}'",
            "status": f"'{Order.Status.DELIVERED}'",
            "payment_method": f"'{Order.PaymentMethod.WALLET}'",
            "flag": "''",
            "created_at": "now()",
            "paid_at": "now()",
            "delivered_at": "now()",
            "updated_at": "now()",
        },
    )
    + f" RETURNING {column(Order, 'pk')}"
)
INSERT_LEDGER_ENTRY = _insert(
    LedgerEntry,
    {
        "wallet": "%s",
        "amount": "%s",
        "balance_after": "%s",
        "kind": f"'{LedgerEntry.Kind.PURCHASE}'",
        "reference": "%s",
        "note": "''",
        "created_at": "now()",
    },
)
SELL_CODE = (
    f"UPDATE {table(CardCode)} SET "
    f"{column(CardCode, 'status')} = '{CardCode.Status.SOLD}', "
    f"{column(CardCode, 'order_ref')} = %s, {column(CardCode, 'sold_at')} = now() "
    f"WHERE {column(CardCode, 'pk')} = %s"
)
_stock = column(Sku, "stock")
COUNT_STOCK = (
    f"UPDATE {table(Sku)} SET {_stock} = {_stock} - 1 WHERE {column(Sku, 'pk')} = %s"
)
INSERT_EVENTS = _insert(
    OrderEvent,
    {
        "order": "%s",
        "from_status": "%s",
        "to_status": "%s",
        "reason": "%s",
        "created_at": "now()",
    },
    rows=2,
)
# The pick is the sale's own statement (catalog.services.codes); its names:
for _field in ("pk", "secret", "sku", "status"):
    column(CardCode, _field)


def sell_one(cursor, *, sku_id: int, buyer_id: int, order_no: str, price: Decimal):
    """One wallet sale of one code, in the caller's transaction; the order's id.

    `cursor` is any DB-API cursor on PostgreSQL (psycopg's, or Django's)."""
    cursor.execute(DEBIT_WALLET, (price, buyer_id))
    wallet_id, balance = cursor.fetchone()
    cursor.execute(INSERT_ORDER, (order_no, buyer_id, sku_id, price, price))
    order_id = cursor.fetchone()[0]
    cursor.execute(INSERT_LEDGER_ENTRY, (wallet_id, -price, balance, order_no))
    cursor.execute(PICK_AVAILABLE_SQL, ([sku_id], 1))
    code_id = cursor.fetchone()[0]
    cursor.execute(SELL_CODE, (order_no, code_id))
    cursor.execute(COUNT_STOCK, (sku_id,))
    cursor.execute(
        INSERT_EVENTS,
        (
            order_id,
            Order.Status.PENDING_PAYMENT,
            Order.Status.PAID,
            Order.PaymentMethod.WALLET,
            order_id,
            Order.Status.PAID,
            Order.Status.DELIVERED,
            "card codes",
        ),
    )
    return order_id


def conninfo() -> str:
    """The default database as a libpq connection string."""
    database = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        dbname=database["NAME"],
        user=database["USER"],
        password=database["PASSWORD"],
        host=database["HOST"],
        port=database["PORT"] or 5432,
    )


def sales_per_second(
    *, sku_id: int, buyer_ids: list[int], seconds: float, connections: int
) -> float:
    """Sales of one code at 1.00 per second, `connections` psycopg connections in
    parallel for `seconds`, each sale its own transaction."""
    dsn = conninfo()
    done = [0] * connections
    stop = time.monotonic() + seconds

    def run(slot: int):
        with psycopg.connect(dsn) as connection:
            sales = 0
            while time.monotonic() < stop:
                buyer = buyer_ids[(slot + sales * connections) % len(buyer_ids)]
                with connection.transaction(), connection.cursor() as cursor:
                    sell_one(
                        cursor,
                        sku_id=sku_id,
                        buyer_id=buyer,
                        order_no=f"C{os.getpid()}{slot:02d}{sales:09d}",
                        price=Decimal("1.00"),
                    )
                sales += 1
            done[slot] = sales

    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)
