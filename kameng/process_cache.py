"""A value each process keeps in memory, read again once anyone changed it.

Some configuration is read on every sale or announcement and changed a few
times a year by an operator: the member levels, the points rules, the coupon
campaigns. `Stamped(name, load)` keeps `load()`'s value in this process,
stamped with a token kept in the shared cache (Redis; the file cache without
it), and `.get()` compares the two: one cache round trip instead of the
queries, and the value read again when the token moved.

Whoever changes what `load` reads calls `.changed()` in the writing
transaction (a model's post_save/post_delete receiver, or the service that
writes): the token becomes "pending" at once, so every process (this one too,
whose transaction already sees the change) reads the database, without
keeping what it read, until the transaction commits; after commit a new token
makes every process read it once more and keep it. A transaction that rolls
back leaves "pending" until it expires (PENDING_SECONDS), then the next reader
starts a new token: nothing read while it was pending was kept. The token is
read before the database, so a value is never kept under a token newer than
what was read; at worst it is read again once more than needed.

An edit that bypasses the ORM's signals (a queryset's `update()`, psql) must
call `.changed()` itself, or the processes keep the old value.

Inside `scope()` (one announcement, one task) every token and the module
switches (kameng.modules.request_scope) are read once, all in one round trip
as the scope opens: an edit made meanwhile elsewhere is seen by the next scope.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, TypeVar

from django.core.cache import cache
from django.db import transaction

from kameng import modules

T = TypeVar("T")

KEY_PREFIX = "kameng:stamp:"
PENDING = "pending:"
PENDING_SECONDS = 300  # longer than any edit's transaction

_registry: dict[str, Stamped] = {}
# The tokens read in the current scope (None: no scope open).
_scoped: ContextVar[dict | None] = ContextVar("kameng_stamps", default=None)


@contextmanager
def scope() -> Iterator[None]:
    """Tokens and module switches read once within it (see the module)."""
    token = _scoped.set({})
    try:
        with modules.request_scope():
            _read_scope()
            yield
    finally:
        _scoped.reset(token)


def _read_scope() -> None:
    """Every token and the module switches, in one cache round trip."""
    keys = [each.key for each in _registry.values()]
    found = cache.get_many([*keys, modules.CACHE_KEY])
    modules.prime_scope(found.pop(modules.CACHE_KEY, None))
    memo = _scoped.get()
    memo.update(dict.fromkeys(keys))
    memo.update(found)


class Stamped(Generic[T]):
    """`Stamped("points-rules", load)`: `.get()` is `load()`, kept per process
    until `.changed()` is called anywhere. The value is shared by the
    process's threads: never change it in place (hand out copies of lists)."""

    def __init__(self, name: str, load: Callable[[], T]):
        if name in _registry:
            raise ValueError(f"a stamped value named {name!r} exists")
        self.name = name
        self.key = KEY_PREFIX + name
        self.load = load
        self._entry: tuple[str, T] | None = None
        _registry[name] = self

    def get(self) -> T:
        stamp = self._stamp()
        entry = self._entry
        if entry is not None and entry[0] == stamp:
            return entry[1]
        value = self.load()
        if not stamp.startswith(PENDING):
            self._entry = (stamp, value)
        return value

    def _stamp(self) -> str:
        memo = _scoped.get()
        if memo is None:
            return self._read_stamp(cache.get(self.key))
        stamp = memo.get(self.key)
        if stamp is None:
            stamp = memo[self.key] = self._read_stamp(None)
        return stamp

    def _read_stamp(self, stamp: str | None) -> str:
        if stamp is None:  # first reader, or the cache lost it: a new token
            token = uuid.uuid4().hex
            stamp = token if cache.add(self.key, token, None) else cache.get(self.key)
        return stamp or PENDING  # gone again at once: read, keep nothing

    def changed(self) -> None:
        """What `load` reads is being changed in the current transaction (or
        was just changed, outside one): every process reads it again."""
        self._entry = None
        self._set(PENDING + uuid.uuid4().hex, PENDING_SECONDS)
        transaction.on_commit(self._renew, robust=True)

    def _renew(self) -> None:
        self._entry = None
        self._set(uuid.uuid4().hex, None)

    def _set(self, stamp: str, timeout: int | None) -> None:
        cache.set(self.key, stamp, timeout)
        memo = _scoped.get()
        if memo:  # the scope that changed it sees its change
            memo[self.key] = stamp

    def forget(self) -> None:
        """Drop this process's value and the shared token (tests, whose
        rollbacks undo an edit no commit announced)."""
        self._entry = None
        cache.delete(self.key)


def forget_all() -> None:
    """Every stamped value forgotten (tests' cold start)."""
    for stamped in _registry.values():
        stamped.forget()
