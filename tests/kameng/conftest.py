"""Rows shared by the cases of one class, and the order a parallel run starts in.

The two walks over every page (tests/kameng/test_access_map.py, every visitor;
tests/kameng/test_backoffice_chinese.py, every role) are split into one case per
visitor or role so that pytest-xdist can hand them to different processes, but
each case reads the same seeded shop. `shared_rows` lets a class seed it once per
process: the class's cases each still run in their own transaction (a savepoint
inside the shared one), so what one case writes (a POST, a session, a login) is
rolled back before the next and no case sees another's writes; the seed itself
is rolled back after the class's last case, so the module's other tests, and the
next module, never see it.

Tests marked `slow` (and not transactional) are started first
(`pytest_collection_modifyitems` below): pytest-xdist hands tests out in
collection order, so a long case collected last would keep one process busy
while the others sit idle at the end of the run.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.db import transaction
from django.test import override_settings

from tests.suite import forget_process_caches, suite_settings


def pytest_collection_modifyitems(config, items):
    """Every test marked `slow`, wherever it is, first (a stable sort: the rest,
    and the slow ones among themselves, keep their order). Every xdist process
    collects and sorts alike, as xdist requires."""
    items.sort(key=lambda item: not _starts_early(item))


def _starts_early(item) -> bool:
    """Marked `slow`, and not transactional: pytest-django runs transactional
    tests after the others (they empty the tables after them, rows the
    migrations wrote included), and that order stays."""
    if item.get_closest_marker("slow") is None:
        return False
    names = getattr(item, "fixturenames", ())
    if "transactional_db" in names or "live_server" in names:
        return False
    marker = item.get_closest_marker("django_db")
    if marker is None:
        return True
    transaction = marker.kwargs.get("transaction", bool(marker.args and marker.args[0]))
    return not (transaction or marker.kwargs.get("reset_sequences"))


class SharedRows:
    """Writes rows that outlive one test; see `shared_rows`."""

    def __init__(self, blocker):
        self._blocker = blocker

    @contextmanager
    def writing(self, **settings):
        """Database access, under the settings and with the cold per-process
        caches every test gets (tests/suite.py), which a class-scoped fixture
        runs before. `settings` are overridden while writing only."""
        with (
            self._blocker.unblock(),
            override_settings(**{**suite_settings(), **settings}),
        ):
            forget_process_caches()
            yield
        forget_process_caches()


@pytest.fixture(scope="class")
def shared_rows(django_db_setup, django_db_blocker):
    """A transaction open for the whole class: rows written through
    `shared_rows.writing()` are seen by each of the class's tests and rolled
    back after the last one. Each test still needs `db` (its own savepoint)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer._from_testcase = True  # as TestCase's own: durable blocks may nest
        outer.__enter__()
    try:
        yield SharedRows(django_db_blocker)
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
