"""A parallel test run (make test: pytest-xdist) gives each process its own Redis
database, as pytest-django gives each its own test database: one process's cache
clear (FLUSHDB) or broker messages never reach another."""

import pytest

from kameng.config import per_test_worker


def test_outside_a_parallel_run_the_url_is_kept():
    assert (
        per_test_worker("redis://127.0.0.1:6379/15", "") == "redis://127.0.0.1:6379/15"
    )


@pytest.mark.parametrize(
    ("url", "worker", "expected"),
    [
        ("redis://127.0.0.1:6379/15", "gw0", "redis://127.0.0.1:6379/15"),
        ("redis://127.0.0.1:6379/15", "gw1", "redis://127.0.0.1:6379/14"),
        ("redis://127.0.0.1:6379/15", "gw3", "redis://127.0.0.1:6379/12"),
        # No database in the URL is database 0; the count wraps within Redis's 16.
        ("redis://127.0.0.1:6379", "gw1", "redis://127.0.0.1:6379/15"),
        ("redis://:secret@cache:6379/2", "gw1", "redis://:secret@cache:6379/1"),
    ],
)
def test_each_test_process_gets_its_own_redis_database(url, worker, expected):
    assert per_test_worker(url, worker) == expected


def test_two_processes_never_share_a_database():
    databases = {per_test_worker("redis://h:6379/15", f"gw{n}") for n in range(4)}
    assert len(databases) == 4
