"""The benchmarks' hand-written SQL (bulk loaders, the checkout's SQL ceiling)
names only tables and columns the migrated schema has, and each INSERT gives a
value to every column that needs one: a renamed or new required column breaks
this test, not a benchmark run."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from bench import ceiling, inventory, sale_pool, schema, suite
from orders.models import Order

pytestmark = pytest.mark.django_db


def test_every_statement_of_every_benchmark_fits_the_schema():
    assert suite.REGISTRY  # every benchmark module is loaded, its SQL built
    assert schema.schema_problems(connection) == []


def test_the_statements_cover_the_tables_they_load():
    inserted = {name for name, _columns in schema.INSERTS}
    built_at_import = {
        "catalog_cardcode",  # inventory monitor and sale pool data sets
        "catalog_skusalesday",
        "catalog_suppliercall",
        "orders_order",  # the checkout ceiling
        "orders_orderevent",
        "users_ledgerentry",
    }
    # generate_history on PostgreSQL (bench.history_sql) builds its INSERTs
    # from the live schema while it loads: recorded only once a load has run
    # in this process (a PostgreSQL test of it, earlier or not at all).
    built_by_a_load = {"users_loginevent", "users_productview", "users_user"}
    assert built_at_import <= inserted <= built_at_import | built_by_a_load


def test_a_missing_table_or_column_is_reported():
    problems = schema.schema_problems(
        connection,
        referenced={"orders_order": {"order_no", "no_such_column"}, "no_table": set()},
        inserts=[],
    )
    assert problems == ["no table no_table", "no column orders_order.no_such_column"]


def test_an_insert_that_leaves_out_a_required_column_is_reported():
    table = Order._meta.db_table
    given = next(columns for name, columns in schema.INSERTS if name == table)
    without_amount = tuple(column for column in given if column != "amount")
    problems = schema.schema_problems(
        connection, referenced={table: set()}, inserts=[(table, without_amount)]
    )
    assert problems == ["INSERT INTO orders_order leaves out amount"]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("statement", "params"),
    [
        (inventory.DELETE_CODES, ["bench-inventory"]),
        (inventory.INSERT_CODES, [[1], [1], 0, 1, 1, 1]),
        (inventory.SET_STOCK_FROM_CODES, [[1], [1]]),
        (inventory.INSERT_SALES_DAYS, [date(2026, 1, 1), [1]]),
        (inventory.INSERT_SUPPLIER_CALLS, [["bench-货源A"], [99], [1]]),
        (sale_pool.INSERT_POOL_CODES, [1, 1, "token", 1, "v1", 0, 1]),
        (sale_pool.VOID_EXTRA_CODES, [1, 1]),
        (sale_pool.DELETE_POOL_CODES, [[1]]),
        (ceiling.DEBIT_WALLET, [Decimal("1.00"), 1]),
        (ceiling.INSERT_ORDER, ["C1", 1, 1, Decimal("1.00"), Decimal("1.00")]),
        (ceiling.INSERT_LEDGER_ENTRY, [1, Decimal("-1.00"), Decimal("9.00"), "C1"]),
        (ceiling.SELL_CODE, ["C1", 1]),
        (ceiling.COUNT_STOCK, [1]),
        (ceiling.INSERT_EVENTS, [1, "a", "b", "c", 1, "b", "c", "d"]),
    ],
)
def test_postgres_plans_every_statement(statement, params):
    """EXPLAIN parses and plans a statement without running it."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + statement, params)
        assert cursor.fetchall()
