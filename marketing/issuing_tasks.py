"""Celery tasks of coupon issuing (imported by marketing.tasks, which Celery
discovers). Thin: each calls a service."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from marketing.campaigns import run_campaigns
from marketing.issuing import run_issue_job_in_language, sweep_issue_jobs


@shared_task(
    name="marketing.issue_coupons_to_segment",
    ignore_result=True,
    acks_late=True,
    soft_time_limit=1500,
    time_limit=1600,
)
def issue_coupons_to_segment_task(job_id: int) -> None:
    """Issue a job's coupons; a no-op unless the job is still queued."""
    run_issue_job_in_language(job_id=job_id)


def enqueue_issue_job(job_id: int) -> None:
    transaction.on_commit(lambda: issue_coupons_to_segment_task.delay(job_id))


@shared_task(name="marketing.sweep_coupon_issue_jobs", ignore_result=True)
def sweep_coupon_issue_jobs_task() -> int:
    """Queue again the issue jobs a lost message or worker left behind."""
    ids = sweep_issue_jobs()
    for job_id in ids:
        issue_coupons_to_segment_task.delay(job_id)
    return len(ids)


@shared_task(name="marketing.run_coupon_campaigns")
def run_coupon_campaigns_task() -> dict[str, int]:
    """Daily: birthday gifts, monthly coupons, win-back coupons."""
    return run_campaigns()
