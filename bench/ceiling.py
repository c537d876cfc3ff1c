"""The ceiling of a card sale: the rows one wallet checkout writes, as plain SQL.

The checkout benchmark compares the shop's orders/s over HTTP with this: the same
transaction (debit the wallet, insert the order and its ledger entry, pick and sell
one code, move the stock, record two order events) sent straight to PostgreSQL by
several psycopg connections, which is as fast as that sale can go on this database.

Every table and column name comes from model metadata (`_meta.db_table`, a field's
`.column`), so a renamed field fails at import, not at three in the morning; the
statements record what they reference in REFERENCED, and a test checks that against
the migrated schema (and that each INSERT names every column that has no default).
"""

from __future__ import annotations

import os
import threading
import time
from decimal import Decimal

import psycopg
from django.conf import settings
from django.db import models

from catalog.models import CardCode, Sku
from catalog.services.codes import PICK_AVAILABLE_SQL
from orders.models import Order, OrderEvent
from users.models import LedgerEntry, Wallet

# table -> the columns the ceiling's statements name
REFERENCED: dict[str, set[str]] = {}
# table -> the columns the ceiling's INSERT gives a value
INSERTED: dict[str, list[str]] = {}


def _table(model: type[models.Model]) -> str:
    REFERENCED.setdefault(model._meta.db_table, set())
    return model._meta.db_table


def _column(model: type[models.Model], field: str) -> str:
    column = model._meta.get_field(field).column
    REFERENCED.setdefault(model._meta.db_table, set()).add(column)
    return column


def _insert(model: type[models.Model], values: dict[str, str], *, rows: int = 1):
    """INSERT of `rows` rows; `values` maps field names to SQL (a %s or now())."""
    table = _table(model)
    columns = [_column(model, field) for field in values]
    INSERTED[table] = columns
    row = "(" + ", ".join(values.values()) + ")"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * rows)}"
    )


def _pk(model: type[models.Model]) -> str:
    return _column(model, model._meta.pk.name)


_balance = _column(Wallet, "balance")
DEBIT_WALLET = (
    f"UPDATE {_table(Wallet)} SET {_balance} = {_balance} - %s, "
    f"{_column(Wallet, 'updated_at')} = now() "
    f"WHERE {_column(Wallet, 'user')} = %s RETURNING {_pk(Wallet)}, {_balance}"
)
INSERT_ORDER = (
    _insert(
        Order,
        {
            "order_no": "%s",
            "buyer": "%s",
            "contact": "''",
            "lookup_password": "''",
            "sku": "%s",
            "quantity": "1",
            "unit_price": "%s",
            "amount": "%s",
            "refunded_amount": "0",
            "price_breakdown": "'{}'",
            "recharge_account": "'{}'",
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
    + f" RETURNING {_pk(Order)}"
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
    f"UPDATE {_table(CardCode)} SET "
    f"{_column(CardCode, 'status')} = '{CardCode.Status.SOLD}', "
    f"{_column(CardCode, 'order_ref')} = %s, {_column(CardCode, 'sold_at')} = now() "
    f"WHERE {_pk(CardCode)} = %s"
)
_stock = _column(Sku, "stock")
COUNT_STOCK = f"UPDATE {_table(Sku)} SET {_stock} = {_stock} - 1 WHERE {_pk(Sku)} = %s"
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
for _field in ("id", "secret", "sku", "status"):
    _column(CardCode, _field)


def schema_problems(connection, *, referenced=None, inserted=None) -> list[str]:
    """What in the ceiling's statements the migrated schema disagrees with: a table
    or column it names that does not exist, a NOT NULL column without a default
    that an INSERT leaves out. Empty when the statements fit the schema."""
    referenced = REFERENCED if referenced is None else referenced
    inserted = INSERTED if inserted is None else inserted
    problems = []
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        for table, columns in sorted(referenced.items()):
            if table not in tables:
                problems.append(f"no table {table}")
                continue
            description = connection.introspection.get_table_description(cursor, table)
            existing = {column.name for column in description}
            problems += [
                f"no column {table}.{column}" for column in sorted(columns - existing)
            ]
            if table not in inserted:
                continue
            primary_key = connection.introspection.get_primary_key_column(cursor, table)
            problems += [
                f"INSERT INTO {table} leaves out {column.name}"
                for column in description
                if not column.null_ok
                and column.default is None
                and column.name != primary_key
                and column.name not in inserted[table]
            ]
    return problems


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
