"""Demand forecasts: a weekly-seasonal forecast that must beat repeating last
week on its back-test, shown with both errors in the inventory monitor, with the
card codes to import to cover the next week."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from analytics.forecasting import (
    HOLT_WINTERS,
    NO_SALES,
    SEASONAL_NAIVE,
    Forecast,
    forecast_series,
    restock_units,
    wape,
)
from analytics.forecasts import HISTORY_DAYS, refresh_forecasts
from analytics.models import DemandForecast
from analytics.tasks import refresh_forecasts_task
from catalog.models import Sku, SkuSalesDay
from tests.catalog.factories import make_sku

WEEK = np.array([10, 12, 11, 13, 20, 30, 25], dtype=float)  # Mon..Sun


def weekly_history(days=HISTORY_DAYS, noise=3.0, seed=7):
    rng = np.random.default_rng(seed)
    series = np.resize(WEEK, days) + rng.normal(0, noise, days)
    return np.clip(np.round(series), 0, None).tolist()


@pytest.mark.parametrize("seed", [1, 7, 42])
def test_a_weekly_season_beats_repeating_last_week(seed):
    forecast = forecast_series(weekly_history(seed=seed))
    assert forecast.method == HOLT_WINTERS
    assert forecast.wape < forecast.naive_wape
    first_week = forecast.daily[:7]
    # the weekly shape is learnt: the busiest forecast day is the busiest weekday
    busiest = int(np.argmax(WEEK))
    assert int(np.argmax(np.resize(first_week, 7))) == busiest % 7
    assert len(forecast.daily) == 30
    assert min(forecast.daily) >= 0


def test_no_sales_forecast_zero():
    forecast = forecast_series([0.0] * 60)
    assert forecast.method == NO_SALES
    assert forecast.units(30) == 0
    assert forecast.wape is None


def test_a_short_history_repeats_its_last_week_without_a_back_test():
    forecast = forecast_series([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert forecast.method == SEASONAL_NAIVE
    assert forecast.daily[:7] == (4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0)
    assert forecast.wape is None and forecast.naive_wape is None


@pytest.mark.parametrize(
    ("actual", "predicted", "expected"),
    [
        ([10, 10], [10, 10], 0.0),
        ([10, 0], [5, 5], 100.0),  # a day without sales still counts its error
        ([0, 0], [1, 1], None),  # nothing sold: no percentage
    ],
)
def test_wape(actual, predicted, expected):
    assert wape(actual, predicted) == expected


@pytest.mark.parametrize(
    ("available", "expected_restock"),
    [(0, 75), (50, 25), (75, 0), (500, 0)],
)
def test_codes_to_import_cover_the_week_plus_safety_stock(available, expected_restock):
    forecast = Forecast(HOLT_WINTERS, (10.0,) * 30, 10.0, 12.0, error_sd=1.0)
    safety, restock = restock_units(
        forecast=forecast, available=available, cover_days=7
    )
    assert safety == 5  # ceil(1.65 × 1 × √7)
    assert restock == expected_restock  # 7 days × 10 + 5 safety − available


def sell_history(sku, history):
    today = timezone.localdate()
    SkuSalesDay.objects.bulk_create(
        SkuSalesDay(
            sku=sku, day=today - timedelta(days=len(history) - i), quantity=int(q)
        )
        for i, q in enumerate(history)
        if q
    )


@pytest.mark.django_db
def test_the_nightly_refresh_forecasts_selling_skus_and_drops_the_rest():
    card = make_sku("CARD-1", stock=40)
    topup = make_sku("TOPUP-1", delivery_type=Sku.DeliveryType.TOPUP)
    quiet = make_sku("QUIET-1", stock=5)
    DemandForecast.objects.create(
        sku=quiet,
        computed_at=timezone.now(),
        first_day=timezone.localdate(),
        history_days=1,
        method=NO_SALES,
        next_7_days=Decimal("0"),
        next_30_days=Decimal("0"),
    )
    sell_history(card, weekly_history())
    sell_history(topup, weekly_history(seed=3))

    assert refresh_forecasts_task.delay().get() == 2

    card_forecast = DemandForecast.objects.get(sku=card)
    assert card_forecast.method == HOLT_WINTERS
    assert card_forecast.first_day == timezone.localdate()
    assert card_forecast.wape < card_forecast.naive_wape
    assert Decimal("90") < card_forecast.next_7_days < Decimal("150")  # 121 a week
    assert len(card_forecast.daily) == 30
    assert card_forecast.available == 40
    assert (
        card_forecast.restock
        == int(
            np.ceil(float(card_forecast.next_7_days)) + card_forecast.safety_stock - 40
        )
        or card_forecast.restock > 0
    )
    assert DemandForecast.objects.get(sku=topup).restock is None  # no codes to import
    assert not DemandForecast.objects.filter(sku=quiet).exists()


@pytest.mark.django_db
def test_the_inventory_monitor_shows_the_forecast_and_both_errors(client, role_user):
    card = make_sku("CARD-2", stock=10)
    sell_history(card, weekly_history())
    refresh_forecasts()
    forecast = DemandForecast.objects.get(sku=card)
    client.force_login(role_user("operations"))
    body = client.get("/admin/catalog/inventory/").content.decode()
    assert "预测 7 / 30 天" in body and "建议补卡" in body
    assert f"{forecast.next_7_days} / {forecast.next_30_days}" in body
    assert f"误差 {forecast.wape}%（朴素 {forecast.naive_wape}%）" in body
    assert f'data-column="restock">{forecast.restock}<' in body
