"""Daily demand forecasts of one series: the arithmetic, no database.

A SKU's history is its units sold per shop day (Asia/Shanghai), oldest first,
ending yesterday. Two methods are compared on the same back-test, the last
BACKTEST_DAYS days of the history held out:

- Holt-Winters exponential smoothing with an additive weekly season
  (statsmodels' ExponentialSmoothing, seasonal_periods=7, no trend: card sales
  move with the week far more than they trend over four weeks, and a trend term
  fitted on a few months of noisy counts overshoots);
- the seasonal naive forecast: every day repeats the same weekday of the last
  week seen. It is the yardstick a forecast must beat to be worth showing.

Their errors are WAPE (sum of absolute errors / sum of actual units, in %): it
stays defined on days without a sale, where MAPE divides by zero. The method
with the lower back-tested error is refitted on the whole history and makes the
forecast; both errors are kept so the page can show them side by side.

A history too short for a weekly season (fewer than MIN_HISTORY_DAYS days) gets
the seasonal naive forecast without a back-test; a SKU that sold nothing gets zeros.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.holtwinters import ExponentialSmoothing

SEASON = 7
BACKTEST_DAYS = 28
HORIZON_DAYS = 30
# Two weeks to fit a weekly season on, then the four held out to test it.
MIN_HISTORY_DAYS = 2 * SEASON + BACKTEST_DAYS
# One-sided 95 % service level of the safety stock.
SERVICE_Z = 1.65

HOLT_WINTERS = "holt_winters"
SEASONAL_NAIVE = "seasonal_naive"
NO_SALES = "no_sales"


@dataclass(frozen=True)
class Forecast:
    method: str
    daily: tuple[float, ...]  # units per day from today, HORIZON_DAYS of them
    wape: float | None  # back-tested error of the method used, in %
    naive_wape: float | None  # the seasonal naive forecast's, in %
    error_sd: float  # spread of the daily back-test errors (units)

    def units(self, days: int) -> float:
        return float(sum(self.daily[:days]))


def seasonal_naive(history: Sequence[float], horizon: int) -> np.ndarray:
    """Each day repeats the same weekday of the last week of `history`."""
    last_week = np.asarray(history[-SEASON:], dtype=float)
    if len(last_week) < SEASON:  # less than a week: its mean every day
        mean = float(np.mean(last_week)) if len(last_week) else 0.0
        return np.full(horizon, mean)
    return np.resize(last_week, horizon)


def holt_winters(history: Sequence[float], horizon: int) -> np.ndarray:
    series = np.asarray(history, dtype=float)
    with warnings.catch_warnings():
        # Flat or sparse counts make the optimiser stop early; the fit it stops
        # at is still a valid smoothing, and the back-test judges it anyway.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        model = ExponentialSmoothing(
            series,
            trend=None,
            seasonal="add",
            seasonal_periods=SEASON,
            initialization_method="estimated",
        ).fit()
        predicted = model.forecast(horizon)
    predicted = np.nan_to_num(np.asarray(predicted, dtype=float), nan=0.0)
    return np.clip(predicted, 0.0, None)  # no negative sales


def wape(actual: Sequence[float], predicted: Sequence[float]) -> float | None:
    """Weighted absolute percentage error in %; None when nothing was sold."""
    actual = np.asarray(actual, dtype=float)
    total = float(actual.sum())
    if total <= 0:
        return None
    return (
        float(np.abs(actual - np.asarray(predicted, dtype=float)).sum()) / total * 100
    )


def forecast_series(history: Sequence[float], horizon: int = HORIZON_DAYS) -> Forecast:
    history = [max(0.0, float(units)) for units in history]
    if not any(history):
        return Forecast(NO_SALES, (0.0,) * horizon, None, None, 0.0)
    if len(history) < MIN_HISTORY_DAYS:
        return Forecast(
            SEASONAL_NAIVE,
            tuple(seasonal_naive(history, horizon).tolist()),
            None,
            None,
            float(np.std(history[-SEASON:])),
        )
    train, held_out = history[:-BACKTEST_DAYS], history[-BACKTEST_DAYS:]
    naive_test = seasonal_naive(train, BACKTEST_DAYS)
    hw_test = holt_winters(train, BACKTEST_DAYS)
    naive_error = wape(held_out, naive_test)
    hw_error = wape(held_out, hw_test)
    use_hw = naive_error is None or (hw_error is not None and hw_error <= naive_error)
    if use_hw:
        daily = holt_winters(history, horizon)
        errors = np.asarray(held_out) - hw_test
        method, error = HOLT_WINTERS, hw_error
    else:
        daily = seasonal_naive(history, horizon)
        errors = np.asarray(held_out) - naive_test
        method, error = SEASONAL_NAIVE, naive_error
    return Forecast(
        method, tuple(daily.tolist()), error, naive_error, float(np.std(errors))
    )


def restock_units(
    *, forecast: Forecast, available: int, cover_days: int
) -> tuple[int, int]:
    """(safety stock, codes to import) so that `available` codes cover the
    forecast of the next `cover_days` days plus a safety stock against the
    back-tested error (z × σ × √days)."""
    safety = math.ceil(SERVICE_Z * forecast.error_sd * math.sqrt(cover_days))
    needed = math.ceil(forecast.units(cover_days)) + safety
    return safety, max(0, needed - max(0, available))
