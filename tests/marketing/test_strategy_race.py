"""Two workers (or a worker and an operator's 立即运行) running the same
strategy at once on the same day: one run, each buyer acted on once
(Postgres, real threads)."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from marketing.models import (
    PrioritySupport,
    Segment,
    Strategy,
    StrategyRun,
    StrategyRunBuyer,
)
from marketing.services import refresh_segment, run_strategy
from tests.marketing.factories import buyer_with

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CALLERS = 8


def test_racing_runs_of_one_strategy_act_once():
    buyers = [buyer_with(joined_days_ago=2) for _ in range(5)]
    segment = Segment.objects.get(builtin=Segment.Builtin.NEW)
    refresh_segment(segment=segment)
    strategy = Strategy.objects.create(
        name="新客优先", segment=segment, action=Strategy.Action.PRIORITY_SUPPORT
    )
    today = timezone.localdate()
    start = threading.Barrier(CALLERS)
    results, errors = [], []

    def run():
        try:
            start.wait()
            results.append(run_strategy(strategy=strategy, day=today))
        except Exception as exc:  # noqa: BLE001 - any error fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len([r for r in results if r is not None]) == 1
    assert StrategyRun.objects.filter(strategy=strategy).count() == 1
    assert StrategyRunBuyer.objects.count() == len(buyers)
    assert PrioritySupport.objects.count() == len(buyers)
