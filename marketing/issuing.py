"""Coupons to many buyers at once: the bulk issue job (a template to every
member of a segment, with a progress bar), and the chunked issue the
automatic campaigns share.

Every coupon goes through the coupon core's set-based `issue_coupons`, which
gives a buyer at most one coupon of a template per issue key and enforces the
template's limits. Buyers are walked in chunks of ISSUE_CHUNK ids by keyset (no
OFFSET), one transaction per chunk, and the job row's processed/issued move
after each chunk: the progress bar reads them. A job run again (a lost worker
re-queued by the sweeper, a second job with the same key) gives nobody a
second coupon.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kameng.exceptions import DomainError
from kameng.modules import is_enabled
from marketing.coupons.issue import issue_coupons
from marketing.models import (
    Coupon,
    CouponIssueJob,
    CouponTemplate,
    Segment,
    SegmentMember,
)
from users.models import User

MODULE = "coupons"
ISSUE_CHUNK = 5000
# A queued job no worker took within this long is queued again; a running job
# whose progress has not moved for STALE_JOB_MINUTES is started again (the
# issue key makes the rerun give nobody a second coupon).
LOST_JOB_MINUTES = 5
STALE_JOB_MINUTES = 15
ISSUE_KEY_PATTERN = re.compile(r"^[\w.:-]{1,40}$")
S = CouponIssueJob.Status


class IssueRefused(DomainError):
    code = "marketing_issue_refused"


# --- chunks ---------------------------------------------------------------


def id_chunks(ids: QuerySet, *, size: int | None = None) -> Iterator[list[int]]:
    """The ids a `values_list(<id>, flat=True)` queryset yields, ascending, in
    chunks of `size` (ISSUE_CHUNK), by keyset (each chunk one indexed range
    scan)."""
    size = size or ISSUE_CHUNK
    field = ids.query.values_select[0]
    last = 0
    while True:
        chunk = list(
            ids.filter(**{f"{field}__gt": last}).order_by(field)[:size].iterator()
        )
        if not chunk:
            return
        yield chunk
        last = chunk[-1]


def issue_in_chunks(
    *,
    template: CouponTemplate,
    ids: QuerySet,
    source: str,
    issue_key: str,
    actor: User | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Issue to the buyers `ids` selects, a chunk per transaction; returns
    (buyers processed, coupons issued). `progress(processed, issued)` runs in
    each chunk's transaction."""
    processed = issued = 0
    for chunk in id_chunks(ids):
        with transaction.atomic():
            issued += issue_coupons(
                template=template,
                user_ids=chunk,
                source=source,
                issue_key=issue_key,
                actor=actor,
            )
            processed += len(chunk)
            if progress is not None:
                progress(processed, issued)
    return processed, issued


# --- the bulk issue job ---------------------------------------------------


def job_issue_key(key: str) -> str:
    """The coupons' issue key of a job key (apart from the campaigns' keys)."""
    return f"job:{key}"


def default_job_key(*, today=None) -> str:
    return (today or timezone.localdate()).strftime("%Y%m%d")


def start_issue_job(
    *,
    template: CouponTemplate,
    segment: Segment,
    issue_key: str,
    actor: User | None,
) -> CouponIssueJob:
    """Record a job; the caller queues it after commit (enqueue_issue_job)."""
    if not is_enabled(MODULE):
        raise IssueRefused(_("The coupon module is switched off."))
    key = (issue_key or "").strip()
    if not ISSUE_KEY_PATTERN.match(key):
        raise IssueRefused(
            _("Issue key: 1 to 40 letters, digits or the signs - _ . : (no spaces)."),
            field="issue_key",
        )
    if not template.active:
        raise IssueRefused(
            _("The template “%(name)s” is not active.") % {"name": template},
            field="template",
        )
    return CouponIssueJob.objects.create(
        template=template,
        segment=segment,
        issue_key=key,
        requested_by=actor if getattr(actor, "pk", None) else None,
    )


def issue_percent(job: CouponIssueJob) -> int:
    if job.status == S.DONE:
        return 100
    if not job.total:
        return 0
    return min(99, job.processed * 100 // job.total)


def jobs_for_page(*, limit: int = 10) -> QuerySet[CouponIssueJob]:
    return CouponIssueJob.objects.select_related(
        "template", "segment", "requested_by"
    ).order_by("-id")[:limit]


def run_issue_job(*, job_id: int) -> CouponIssueJob | None:
    """The job's body (Celery task): a no-op unless the job is queued."""
    now = timezone.now()
    claimed = CouponIssueJob.objects.filter(pk=job_id, status=S.QUEUED).update(
        status=S.RUNNING, started_at=now, touched_at=now, processed=0, issued=0
    )
    if not claimed:
        return None
    job = CouponIssueJob.objects.select_related("template", "requested_by").get(
        pk=job_id
    )
    if not is_enabled(MODULE):
        return fail_issue_job(job, _("The coupon module is switched off."))
    members = SegmentMember.objects.filter(segment_id=job.segment_id)
    CouponIssueJob.objects.filter(pk=job.pk).update(total=members.count())

    def progress(processed: int, issued: int) -> None:
        CouponIssueJob.objects.filter(pk=job.pk).update(
            processed=processed, issued=issued, touched_at=timezone.now()
        )

    try:
        issue_in_chunks(
            template=job.template,
            ids=members.values_list("user_id", flat=True),
            source=Coupon.Source.SEGMENT,
            issue_key=job_issue_key(job.issue_key),
            actor=job.requested_by,
            progress=progress,
        )
    except DomainError as exc:
        return fail_issue_job(job, exc.message)
    CouponIssueJob.objects.filter(pk=job.pk).update(
        status=S.DONE, finished_at=timezone.now(), touched_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def run_issue_job_in_language(*, job_id: int) -> CouponIssueJob | None:
    """Failures are written in the back office's language."""
    with translation.override(settings.LANGUAGE_CODE):
        return run_issue_job(job_id=job_id)


def fail_issue_job(job: CouponIssueJob, message: str) -> CouponIssueJob:
    CouponIssueJob.objects.filter(pk=job.pk).update(
        status=S.FAILED, failure=message[:300], finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def sweep_issue_jobs(*, now: datetime | None = None) -> list[int]:
    """Ids of jobs to queue again: queued ones no worker took, running ones
    whose progress stopped (their worker was lost). Running ones go back to
    queued here; the caller enqueues the ids."""
    now = now or timezone.now()
    stale = CouponIssueJob.objects.filter(
        status=S.RUNNING, touched_at__lt=now - timedelta(minutes=STALE_JOB_MINUTES)
    )
    stale_ids = list(stale.values_list("pk", flat=True))
    CouponIssueJob.objects.filter(pk__in=stale_ids, status=S.RUNNING).update(
        status=S.QUEUED
    )
    lost = CouponIssueJob.objects.filter(
        status=S.QUEUED, created_at__lt=now - timedelta(minutes=LOST_JOB_MINUTES)
    ).values_list("pk", flat=True)
    return sorted(set(stale_ids) | set(lost))
