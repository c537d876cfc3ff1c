"""Celery tasks of the analytics app: thin, each calls a service."""

from __future__ import annotations

from celery import shared_task

from analytics.forecasts import refresh_forecasts
from analytics.rollups import close_rollups, refresh_rollups


@shared_task(name="analytics.refresh_rollups", ignore_result=True)
def refresh_rollups_task() -> int:
    """Every two minutes: rebuild the rollup days of orders changed since."""
    return len(refresh_rollups())


@shared_task(name="analytics.close_rollups", ignore_result=True)
def close_rollups_task() -> int:
    """Nightly: rebuild the last days' rollups whatever changed."""
    return close_rollups()


@shared_task(name="analytics.refresh_forecasts", ignore_result=True)
def refresh_forecasts_task() -> int:
    """Nightly: every selling SKU's demand forecast and restock suggestion."""
    return refresh_forecasts().forecast
