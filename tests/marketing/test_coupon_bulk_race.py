"""Two issue jobs with the same key running at the same moment (two workers,
or an operator who pressed twice): still exactly one coupon per buyer
(Postgres, real threads)."""

import threading
from collections import Counter

import pytest
from django.db import connection

from marketing import issuing
from marketing.issuing import run_issue_job, start_issue_job
from marketing.models import Coupon, CouponIssueJob
from tests.marketing.issuing_helpers import make_template, new_buyers_segment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_concurrent_jobs_with_one_key_give_one_coupon_per_buyer(monkeypatch):
    monkeypatch.setattr(issuing, "ISSUE_CHUNK", 7)
    segment, buyers = new_buyers_segment(40)
    template = make_template(per_buyer_limit=3)
    jobs = [
        start_issue_job(
            template=template, segment=segment, issue_key="same", actor=None
        )
        for _ in range(2)
    ]
    start = threading.Barrier(len(jobs))
    errors = []

    def run(job_id):
        try:
            start.wait()
            run_issue_job(job_id=job_id)
        except Exception as exc:  # noqa: BLE001 - any error fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job.pk,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    owners = Counter(
        Coupon.objects.filter(template=template).values_list("owner_id", flat=True)
    )
    assert owners == {buyer.pk: 1 for buyer in buyers}
    done = CouponIssueJob.objects.filter(status=CouponIssueJob.Status.DONE)
    assert done.count() == 2
    assert sum(job.issued for job in done) == len(buyers)
    assert all(job.processed == len(buyers) for job in done)
