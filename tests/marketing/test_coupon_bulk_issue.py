"""Issuing a template to a segment: a job row with progress, exactly one
coupon per buyer per issue key (run twice, or a second job with the key), the
page with its progress bar, and nothing when the coupons module is off."""

from collections import Counter
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kameng.modules import forget_switches, switch_module
from marketing import issuing
from marketing.issuing import (
    issue_percent,
    job_issue_key,
    run_issue_job,
    start_issue_job,
    sweep_issue_jobs,
)
from marketing.models import Coupon, CouponIssueJob
from tests.marketing.issuing_helpers import make_template, new_buyers_segment

pytestmark = pytest.mark.django_db


def per_buyer(template) -> Counter:
    return Counter(
        Coupon.objects.filter(template=template).values_list("owner_id", flat=True)
    )


def test_job_issues_one_coupon_per_member_and_reaches_100_percent(monkeypatch):
    monkeypatch.setattr(issuing, "ISSUE_CHUNK", 2)  # several chunks of progress
    segment, buyers = new_buyers_segment(5)
    template = make_template()
    job = start_issue_job(
        template=template, segment=segment, issue_key="nov", actor=None
    )
    seen = []
    real_issue = issuing.issue_coupons

    def watching(**kwargs):
        seen.append(CouponIssueJob.objects.get(pk=job.pk).processed)
        return real_issue(**kwargs)

    monkeypatch.setattr(issuing, "issue_coupons", watching)
    done = run_issue_job(job_id=job.pk)
    assert seen == [0, 2, 4]  # the bar moved after each chunk
    assert done.status == CouponIssueJob.Status.DONE
    assert (done.total, done.processed, done.issued) == (5, 5, 5)
    assert issue_percent(done) == 100
    assert per_buyer(template) == {buyer.pk: 1 for buyer in buyers}
    assert set(
        Coupon.objects.filter(template=template).values_list("issue_key", flat=True)
    ) == {job_issue_key("nov")}


def test_running_a_job_again_or_a_second_job_with_the_key_gives_no_second_coupon():
    segment, buyers = new_buyers_segment(4)
    template = make_template(per_buyer_limit=5)
    first = start_issue_job(
        template=template, segment=segment, issue_key="k1", actor=None
    )
    run_issue_job(job_id=first.pk)
    # The sweeper queues it again (a lost worker): the rerun issues nothing new.
    CouponIssueJob.objects.filter(pk=first.pk).update(
        status=CouponIssueJob.Status.QUEUED
    )
    again = run_issue_job(job_id=first.pk)
    second = start_issue_job(
        template=template, segment=segment, issue_key="k1", actor=None
    )
    second = run_issue_job(job_id=second.pk)
    assert (again.processed, again.issued) == (4, 0)
    assert (second.processed, second.issued) == (4, 0)
    assert per_buyer(template) == {buyer.pk: 1 for buyer in buyers}
    # Another key is another issue (within the per-buyer limit of 5).
    third = start_issue_job(
        template=template, segment=segment, issue_key="k2", actor=None
    )
    assert run_issue_job(job_id=third.pk).issued == 4


def test_a_job_that_is_not_queued_is_left_alone():
    segment, _buyers = new_buyers_segment(2)
    job = start_issue_job(
        template=make_template(), segment=segment, issue_key="x", actor=None
    )
    run_issue_job(job_id=job.pk)
    assert run_issue_job(job_id=job.pk) is None


def test_total_quantity_stops_the_job_at_the_limit():
    segment, _buyers = new_buyers_segment(5)
    template = make_template(total_quantity=3)
    job = start_issue_job(template=template, segment=segment, issue_key="q", actor=None)
    done = run_issue_job(job_id=job.pk)
    assert done.status == CouponIssueJob.Status.DONE
    assert (done.processed, done.issued) == (5, 3)
    assert Coupon.objects.filter(template=template).count() == 3


@pytest.mark.parametrize("key", ["", "has space", "x" * 41, "分号;"])
def test_bad_issue_keys_are_refused(key):
    segment, _buyers = new_buyers_segment(1)
    with pytest.raises(issuing.IssueRefused) as refused:
        start_issue_job(
            template=make_template(), segment=segment, issue_key=key, actor=None
        )
    assert refused.value.extra["field"] == "issue_key"


def test_inactive_template_is_refused():
    segment, _buyers = new_buyers_segment(1)
    with pytest.raises(issuing.IssueRefused):
        start_issue_job(
            template=make_template(active=False),
            segment=segment,
            issue_key="x",
            actor=None,
        )


def test_sweeper_queues_lost_and_stalled_jobs_again():
    segment, _buyers = new_buyers_segment(1)
    template = make_template()
    old = timezone.now() - timedelta(hours=1)
    lost = start_issue_job(
        template=template, segment=segment, issue_key="a", actor=None
    )
    stalled = start_issue_job(
        template=template, segment=segment, issue_key="b", actor=None
    )
    fresh = start_issue_job(
        template=template, segment=segment, issue_key="c", actor=None
    )
    CouponIssueJob.objects.filter(pk=lost.pk).update(created_at=old)
    CouponIssueJob.objects.filter(pk=stalled.pk).update(
        status=CouponIssueJob.Status.RUNNING, touched_at=old, created_at=old
    )
    assert sweep_issue_jobs() == sorted([lost.pk, stalled.pk])
    assert CouponIssueJob.objects.get(pk=stalled.pk).status == "queued"
    assert CouponIssueJob.objects.get(pk=fresh.pk).status == "queued"


def test_marketing_issues_from_the_page_and_watches_the_progress(
    client, role_user, django_capture_on_commit_callbacks
):
    segment, buyers = new_buyers_segment(3)
    template = make_template(name="满减券十元")
    client.force_login(role_user("marketing"))
    page = client.get(reverse("marketing:coupon_issue"))
    assert page.status_code == 200
    assert "满减券十元" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            reverse("marketing:coupon_issue"),
            {"template": template.pk, "segment": segment.pk, "issue_key": "2026-11"},
        )
    job = CouponIssueJob.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == reverse("marketing:coupon_issue_job", args=[job.pk])
    page = client.get(answer["Location"]).content.decode()
    assert 'data-status="done"' in page and 'data-percent="100"' in page
    assert "已发放 3 张" in page
    fragment = client.get(reverse("marketing:coupon_issue_progress", args=[job.pk]))
    assert 'data-percent="100"' in fragment.content.decode()
    assert "hx-get" not in fragment.content.decode()  # done: polling stops
    assert per_buyer(template) == {buyer.pk: 1 for buyer in buyers}


def test_a_queued_job_polls_its_progress(client, role_user):
    segment, _buyers = new_buyers_segment(2)
    job = start_issue_job(
        template=make_template(), segment=segment, issue_key="p", actor=None
    )
    client.force_login(role_user("marketing"))
    fragment = client.get(
        reverse("marketing:coupon_issue_progress", args=[job.pk])
    ).content.decode()
    assert 'data-percent="0"' in fragment and "hx-get" in fragment


def test_page_form_errors_are_shown_in_chinese(client, role_user):
    segment, _buyers = new_buyers_segment(1)
    template = make_template()
    client.force_login(role_user("marketing"))
    page = client.post(
        reverse("marketing:coupon_issue"),
        {"template": template.pk, "segment": segment.pk, "issue_key": "有 空格"},
    )
    assert page.status_code == 200
    assert "发放标识" in page.content.decode()
    assert not CouponIssueJob.objects.exists()


def test_module_off_hides_the_pages_and_issues_nothing(
    client, role_user, django_capture_on_commit_callbacks
):
    segment, _buyers = new_buyers_segment(2)
    template = make_template()
    job = start_issue_job(template=template, segment=segment, issue_key="o", actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        switch_module(code="coupons", enabled=False, actor=None)
    client.force_login(role_user("marketing"))
    assert client.get(reverse("marketing:coupon_issue")).status_code == 404
    assert (
        client.get(reverse("marketing:coupon_issue_job", args=[job.pk])).status_code
        == 404
    )
    done = run_issue_job(job_id=job.pk)
    assert done.status == CouponIssueJob.Status.FAILED
    assert not Coupon.objects.exists()
    with pytest.raises(issuing.IssueRefused):
        start_issue_job(template=template, segment=segment, issue_key="o2", actor=None)
    forget_switches()
