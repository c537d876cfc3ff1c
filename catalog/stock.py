"""A SKU's stock state, ok / low / out: one rule, in Python and in SQL.

- unlimited stock (``stock_mode`` "unlimited"): always ok, whatever ``stock`` says;
- counted stock (counter, or available codes) at 0: out;
- counted stock at or below ``low_stock_threshold``: low;
- otherwise ok.

`stock_state()` judges plain values (a model instance's, a ``values()`` row's, a
stock just read under a lock); `stock_state_expression()` is the same rule as a
database expression, for filtering and sorting whole querysets. Both are tested
against each other on the same cases (tests/catalog/test_stock_state.py). The
shop (in stock / only N left / sold out), the inventory monitor, the stock alerts,
the sale that checks the stock it leaves and the product admin's low-stock filter
all ask these two.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from catalog.models import Sku

UNLIMITED = Sku.StockMode.UNLIMITED


class StockState(models.TextChoices):
    OK = "ok", _("In stock")
    LOW = "low", _("Low stock")
    OUT = "out", _("Sold out")


def stock_state(*, stock_mode: str, stock: int, low_stock_threshold: int) -> StockState:
    if stock_mode == UNLIMITED:
        return StockState.OK
    if stock <= 0:
        return StockState.OUT
    if stock <= low_stock_threshold:
        return StockState.LOW
    return StockState.OK


def sku_stock_state(sku: Sku) -> StockState:
    return stock_state(
        stock_mode=sku.stock_mode,
        stock=sku.stock,
        low_stock_threshold=sku.low_stock_threshold,
    )


def stock_state_expression(prefix: str = "") -> Case:
    """stock_state() in SQL over a Sku queryset; `prefix` reaches a related SKU
    ("sku__" on a queryset of offers, say)."""
    tracked = ~Q(**{f"{prefix}stock_mode": UNLIMITED})
    return Case(
        When(tracked & Q(**{f"{prefix}stock__lte": 0}), then=Value(StockState.OUT)),
        When(
            tracked & Q(**{f"{prefix}stock__lte": F(f"{prefix}low_stock_threshold")}),
            then=Value(StockState.LOW),
        ),
        default=Value(StockState.OK),
        output_field=models.CharField(),
    )


def stock_state_is(state: StockState, prefix: str = "") -> Exact:
    """A condition for filter() or When(): the SKU's stock state is `state`."""
    return Exact(stock_state_expression(prefix), Value(state))
