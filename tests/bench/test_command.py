"""`manage.py bench NAME` prints its figures as one JSON object on the last line."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def test_bench_lists_its_benchmarks(capsys):
    call_command("bench", "--list")
    assert "healthz" in capsys.readouterr().out


@pytest.mark.django_db
def test_bench_prints_json_as_last_line(capsys, role_user):
    role_user("superadmin")
    call_command("bench", "healthz", "--requests", "3")
    last = capsys.readouterr().out.strip().splitlines()[-1]
    figures = json.loads(last)
    assert figures["bench"] == "healthz"
    assert figures["requests"] == 3
    assert figures["dashboard_p50_ms"] > 0


def test_unknown_benchmark_is_a_clear_error():
    with pytest.raises((CommandError, SystemExit)):
        call_command("bench", "no_such_bench")
