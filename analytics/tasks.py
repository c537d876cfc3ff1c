"""Celery tasks of the analytics app: thin, each calls a service."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from analytics.forecasts import refresh_forecasts
from analytics.reports.services import make_report, run_scheduled_report
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


@shared_task(name="analytics.make_report", ignore_result=True)
def make_report_task(run_id: int) -> str:
    """Make one report run's files (asked for on the reports page)."""
    return make_report(run_id=run_id).status


def queue_report(*, run_id: int) -> None:
    transaction.on_commit(lambda: make_report_task.delay(run_id))


@shared_task(name="analytics.run_scheduled_report", ignore_result=True)
def run_scheduled_report_task(template_id: int) -> str:
    """A report template's cron entry: make the report and mail it."""
    run = run_scheduled_report(template_id=template_id)
    return run.status if run else "skipped"
