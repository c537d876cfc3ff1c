"""Thin periodic tasks of marketing (entries in kameng.beat.SCHEDULE)."""

from celery import shared_task

from marketing import issuing_tasks  # noqa: F401 - coupon issue jobs, campaigns
from marketing.services import refresh_segments, run_due_strategies


@shared_task(name="marketing.refresh_segments")
def refresh_segments_task() -> dict[str, int]:
    return refresh_segments()


@shared_task(name="marketing.run_strategies")
def run_strategies_task() -> dict[str, int]:
    return run_due_strategies()
