"""Nightly demand forecasts per SKU (issue 14), from catalog's units sold per day.

`refresh_forecasts()` reads HISTORY_DAYS complete days of catalog.SkuSalesDay
(the inventory monitor's own daily counts, so the forecast and the monitor
never disagree about what sold) for every SKU that sold in that window, runs
analytics.forecasting on each series and writes one DemandForecast per SKU in
bulk; forecasts of SKUs that no longer sell are removed. Card SKUs counted by
their codes also get a restock suggestion: codes to import so that what is
available covers the next FORECAST_COVER_DAYS days plus a safety stock.

The inventory monitor (catalog) shows the forecast through the reader that
AnalyticsConfig.ready registers with catalog.selectors.inventory.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analytics.forecasting import (
    HORIZON_DAYS,
    Forecast,
    forecast_series,
    restock_units,
)
from analytics.models import DemandForecast
from catalog.models import Sku, SkuSalesDay

HISTORY_DAYS = 112  # sixteen weeks: enough seasons, recent enough to matter
TENTH = Decimal("0.1")


def cover_days() -> int:
    return getattr(settings, "FORECAST_COVER_DAYS", 7)


def _tenths(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(TENTH, rounding=ROUND_HALF_UP)


def sales_histories(*, first_day: date, last_day: date) -> dict[int, list[float]]:
    """Units per day from first_day to last_day (zeros filled) of every SKU that
    sold in that window, in one query."""
    length = (last_day - first_day).days + 1
    histories: dict[int, list[float]] = defaultdict(lambda: [0.0] * length)
    rows = SkuSalesDay.objects.filter(
        day__gte=first_day, day__lte=last_day, quantity__gt=0
    ).values_list("sku_id", "day", "quantity")
    for sku_id, day, quantity in rows.iterator(chunk_size=5000):
        histories[sku_id][(day - first_day).days] = float(quantity)
    return dict(histories)


@dataclass(frozen=True)
class RefreshResult:
    forecast: int
    removed: int


def forecast_row(
    *, sku: Sku, forecast: Forecast, first_day: date, history_days: int, now
) -> DemandForecast:
    row = DemandForecast(
        sku=sku,
        computed_at=now,
        first_day=first_day,
        history_days=history_days,
        method=forecast.method,
        daily=[str(_tenths(units)) for units in forecast.daily],
        next_7_days=_tenths(forecast.units(7)),
        next_30_days=_tenths(forecast.units(HORIZON_DAYS)),
        wape=_tenths(forecast.wape),
        naive_wape=_tenths(forecast.naive_wape),
    )
    if sku.delivery_type == Sku.DeliveryType.CARD and sku.stock_mode in (
        Sku.StockMode.CODES,
        Sku.StockMode.COUNTER,
    ):
        row.available = sku.stock
        row.safety_stock, row.restock = restock_units(
            forecast=forecast, available=sku.stock, cover_days=cover_days()
        )
    return row


def refresh_forecasts(*, today: date | None = None) -> RefreshResult:
    """Forecast every SKU that sold in the last HISTORY_DAYS complete days."""
    now = timezone.now()
    today = today or timezone.localdate(now)
    last_day = today - timedelta(days=1)
    first_day = today - timedelta(days=HISTORY_DAYS)
    histories = sales_histories(first_day=first_day, last_day=last_day)
    skus = Sku.objects.in_bulk(list(histories))
    rows = [
        forecast_row(
            sku=skus[sku_id],
            forecast=forecast_series(history),
            first_day=today,
            history_days=len(history),
            now=now,
        )
        for sku_id, history in histories.items()
        if sku_id in skus
    ]
    fields = [
        field.name
        for field in DemandForecast._meta.concrete_fields
        if field.name not in ("id", "sku")
    ]
    with transaction.atomic():
        removed, _ = DemandForecast.objects.exclude(sku_id__in=list(skus)).delete()
        DemandForecast.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["sku"],
            update_fields=fields,
        )
    return RefreshResult(forecast=len(rows), removed=removed)


def forecasts_for(sku_ids) -> dict[int, DemandForecast]:
    """The forecasts of these SKUs (the inventory monitor's page), one query."""
    return {
        row.sku_id: row
        for row in DemandForecast.objects.filter(sku_id__in=list(sku_ids)).defer(
            "daily"
        )
    }
