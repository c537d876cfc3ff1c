"""Dashboard and report reads on a read replica.

When `DATABASE_REPLICA_URL` is set, settings add a database alias "replica"
and `ReplicaRouter` sends the reads made inside `replica_reads` (a decorator or
a context manager: the dashboard, the comparison and retention pages, the
reports) there, so a busy shop keeps analytics off the primary. Without it
every read stays on "default". Writes always go to "default"; nothing is
migrated on the replica (it follows the primary by replication).

A replica lags the primary by its replication delay: only pages that can show
figures a few seconds old read through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.db import connections

REPLICA = "replica"
reading = ContextVar("kameng_replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in connections.databases


@contextmanager
def reading_replica() -> Iterator[None]:
    """Reads inside go to the replica when one is configured."""
    token = reading.set(True)
    try:
        yield
    finally:
        reading.reset(token)


def replica_reads(func: Callable) -> Callable:
    """A view or selector whose reads go to the replica when one is configured."""

    @wraps(func)
    def run(*args, **kwargs):
        with reading_replica():
            return func(*args, **kwargs)

    return run


class ReplicaRouter:
    """settings.DATABASE_ROUTERS: analytics reads to the replica, else default."""

    def db_for_read(self, model, **hints):
        if reading.get() and replica_configured():
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return None  # the primary

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA
