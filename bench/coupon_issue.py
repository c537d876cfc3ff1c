"""Benchmark: coupons to a whole segment, and the same issue run again.

    python manage.py bench coupon_issue [--buyers 100000] [--keep]

Loads `--buyers` buyers with COPY the first time (bench.history's loader;
batched INSERTs on SQLite; later runs reuse them) and makes them the members
of a fresh custom segment in one INSERT … SELECT, then runs the bulk issue
job's body (marketing.issuing.run_issue_job, what the Celery task runs) for a
new coupon template and times it; runs a second job with the same issue key
and times that too; then checks in SQL that every buyer holds exactly one
coupon. Removes the run's coupons, jobs, segment and template unless --keep
(not the buyers: deleting 100,000 users, with every foreign key checked,
takes minutes).
"""

from __future__ import annotations

import random
import time
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from bench.history import load_buyers
from bench.registry import benchmark
from bench.schema import column, table
from marketing import issuing
from marketing.issuing import run_issue_job, start_issue_job
from marketing.models import (
    Coupon,
    CouponIssueJob,
    CouponTemplate,
    Segment,
    SegmentMember,
)
from users.models import User

TARGET_SECONDS = 60


BUYER_RUN = "couponbench"  # their usernames: "hcouponbench-<id>"


def bench_buyers(count: int) -> tuple[int, float]:
    """Make sure `count` bench buyers exist (loaded once with COPY, reused by
    later runs: deleting 100,000 users costs more than issuing to them).
    Returns (how many were loaded now, seconds)."""
    prefix = f"h{BUYER_RUN}-"
    have = User.objects.filter(username__startswith=prefix).count()
    if have >= count:
        return 0, 0.0
    began = time.perf_counter()
    now = timezone.now()
    load_buyers(
        count=count - have,
        start=now - timedelta(days=30),
        days=30,
        rng=random.Random(13),
        run=BUYER_RUN,
    )
    return count - have, round(time.perf_counter() - began, 2)


def make_segment(*, name: str, count: int) -> Segment:
    """A custom segment whose members are `count` bench buyers (one
    statement)."""
    segment = Segment.objects.create(name=name, description="bench coupon_issue")
    members, user = SegmentMember, User
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table(members)} "
            f"({column(members, 'segment')}, {column(members, 'user')}) "
            f"SELECT %s, {column(user, 'pk')} FROM {table(user)} "
            f"WHERE {column(user, 'username')} LIKE %s "
            f"ORDER BY {column(user, 'pk')} LIMIT %s",
            [segment.pk, f"h{BUYER_RUN}-%", count],
        )
    Segment.objects.filter(pk=segment.pk).update(member_count=count)
    return segment


def coupons_per_buyer(template: CouponTemplate) -> tuple[int, int, int]:
    """(coupons, buyers holding one, most held by one buyer) in SQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COUNT(DISTINCT {column(Coupon, 'owner')}) "
            f"FROM {table(Coupon)} WHERE {column(Coupon, 'template')} = %s",
            [template.pk],
        )
        total, owners = cursor.fetchone()
        cursor.execute(
            f"SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n "
            f"FROM {table(Coupon)} WHERE {column(Coupon, 'template')} = %s "
            f"GROUP BY {column(Coupon, 'owner')}) held",
            [template.pk],
        )
        most = cursor.fetchone()[0]
    return total, owners, most


def timed_job(*, template, segment, key: str) -> tuple[CouponIssueJob, float]:
    job = start_issue_job(template=template, segment=segment, issue_key=key, actor=None)
    began = time.perf_counter()
    job = run_issue_job(job_id=job.pk)
    return job, round(time.perf_counter() - began, 2)


def clean_up(*, template, segment) -> None:
    """Remove the run's coupons, jobs, segment and template (the buyers stay
    for the next run)."""
    with connection.cursor() as cursor:
        for model, field, value in (
            (Coupon, "template", template.pk),
            (CouponIssueJob, "template", template.pk),
            (SegmentMember, "segment", segment.pk),
        ):
            cursor.execute(
                f"DELETE FROM {table(model)} WHERE {column(model, field)} = %s",
                [value],
            )
    segment.delete()
    template.delete()


@benchmark(
    "coupon_issue",
    help="Coupons to a 100,000-buyer segment (target < 60 s); again: one each.",
    arguments=[
        ("--buyers", {"type": int, "default": 100_000}),
        ("--keep", {"action": "store_true"}),
    ],
)
def coupon_issue(*, buyers: int, keep: bool, stdout) -> dict:
    run = f"ci{int(time.time())}"
    loaded, load_seconds = bench_buyers(buyers)
    segment = make_segment(name=f"bench {run}", count=buyers)
    template = CouponTemplate.objects.create(
        name=f"bench {run} 无门槛5元",
        kind=CouponTemplate.Kind.NO_THRESHOLD,
        amount=Decimal("5.00"),
        threshold=Decimal("0.00"),
        valid_days=30,
    )
    stdout.write(f"{loaded} buyers loaded in {load_seconds} s; issuing…")
    first, first_seconds = timed_job(template=template, segment=segment, key=run)
    second, second_seconds = timed_job(template=template, segment=segment, key=run)
    total, owners, most = coupons_per_buyer(template)
    exactly_once = total == owners == buyers and most == 1
    figures = {
        "vendor": connection.vendor,
        "buyers": buyers,
        "chunk": issuing.ISSUE_CHUNK,
        "buyers_loaded_now": loaded,
        "load_seconds": load_seconds,
        "issue_seconds": first_seconds,
        "issued": first.issued,
        "coupons_per_second": round(first.issued / first_seconds)
        if first_seconds
        else None,
        "under_target": first_seconds < TARGET_SECONDS,
        "again_seconds": second_seconds,
        "issued_again": second.issued,
        "coupons": total,
        "buyers_with_a_coupon": owners,
        "most_held_by_one_buyer": most,
        "exactly_one_per_buyer": exactly_once,
    }
    for line in (
        f"first issue: {first.issued} coupons in {first_seconds} s "
        f"(target < {TARGET_SECONDS} s)",
        f"same key again: {second.issued} issued in {second_seconds} s",
        f"exactly one coupon per buyer: {exactly_once} "
        f"({total} coupons, {owners} buyers, at most {most} each)",
    ):
        stdout.write(line)
    if not keep:
        began = time.perf_counter()
        clean_up(template=template, segment=segment)
        figures["clean_up_seconds"] = round(time.perf_counter() - began, 2)
    return figures
