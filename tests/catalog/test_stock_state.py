"""A SKU's stock state (ok / low / out) is one rule: the Python function and its
SQL twin agree on every case."""

import pytest

from catalog.models import Product, Sku
from catalog.stock import (
    StockState,
    stock_state,
    stock_state_expression,
    stock_state_is,
)
from tests.catalog.factories import make_sku

OK, LOW, OUT = StockState.OK, StockState.LOW, StockState.OUT
COUNTER, CODES, UNLIMITED = (
    Sku.StockMode.COUNTER,
    Sku.StockMode.CODES,
    Sku.StockMode.UNLIMITED,
)

# (stock_mode, stock, low_stock_threshold, expected)
CASES = [
    (COUNTER, 0, 10, OUT),
    (COUNTER, 1, 10, LOW),
    (COUNTER, 9, 10, LOW),
    (COUNTER, 10, 10, LOW),  # at the threshold is low
    (COUNTER, 11, 10, OK),
    (COUNTER, 0, 0, OUT),  # threshold 0: out still counts
    (COUNTER, 1, 0, OK),
    (CODES, 0, 5, OUT),
    (CODES, 5, 5, LOW),
    (CODES, 6, 5, OK),
    (CODES, 100_000, 5, OK),
    (UNLIMITED, 0, 10, OK),  # never low or out, whatever the counter says
    (UNLIMITED, 3, 10, OK),
    (UNLIMITED, 50, 10, OK),
]


@pytest.mark.parametrize(("mode", "stock", "threshold", "expected"), CASES)
def test_the_rule_on_plain_values(mode, stock, threshold, expected):
    assert (
        stock_state(stock_mode=mode, stock=stock, low_stock_threshold=threshold)
        == expected
    )


@pytest.fixture
def case_skus(db):
    """sku id → the state CASES expects of it."""
    return {
        make_sku(stock_mode=mode, stock=stock, low_stock_threshold=threshold).pk: want
        for mode, stock, threshold, want in CASES
    }


def test_the_sql_twin_agrees_with_the_function_on_every_case(case_skus):
    rows = Sku.objects.filter(pk__in=case_skus).annotate(state=stock_state_expression())
    by_sql = {row.pk: row.state for row in rows}
    by_python = {
        row.pk: stock_state(
            stock_mode=row.stock_mode,
            stock=row.stock,
            low_stock_threshold=row.low_stock_threshold,
        )
        for row in rows
    }
    assert by_sql == by_python == case_skus


def test_the_sql_twin_filters_each_state(case_skus):
    for state in StockState:
        found = set(
            Sku.objects.filter(pk__in=case_skus)
            .filter(stock_state_is(state))
            .values_list("pk", flat=True)
        )
        assert found == {pk for pk, want in case_skus.items() if want == state}


def test_the_sql_twin_reaches_a_related_sku(case_skus):
    low_products = set(
        Product.objects.filter(skus__in=list(case_skus))
        .filter(stock_state_is(LOW, prefix="skus__"))
        .values_list("pk", flat=True)
    )
    low_skus = [pk for pk, state in case_skus.items() if state == LOW]
    assert low_products == set(
        Sku.objects.filter(pk__in=low_skus).values_list("product_id", flat=True)
    )
