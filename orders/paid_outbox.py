"""The drain of order_paid's outbox (orders.models.PaidAnnouncement), in the worker.

A sale writes its announcement's row in its own transaction
(orders.transitions.send_after_commit, or orders.sale_sql's third statement)
and after commit wakes a drain (orders.tasks.poke_paid_drain). A drain:

1. claims a batch, oldest first, with a lease: one statement on PostgreSQL
   (`UPDATE … SET claimed_until = statement_timestamp() + lease WHERE id IN
   (SELECT … FOR UPDATE SKIP LOCKED) RETURNING …`: two drains never claim the
   same row and never wait for each other; the statement's own time, not the
   transaction's, so two claims in one transaction differ); elsewhere (SQLite,
   one writer at a time) the ORM in a transaction, the UPDATE checking the
   claim's condition again;
2. announces the batch in one transaction that first deletes its rows WHERE
   they still carry this drain's lease (one statement), then sends each row's
   order_paid: the receivers' writes and the deletions commit together or not
   at all. A drain killed mid-batch leaves its rows claimed; another claims
   them after the lease, and as the dead drain's work rolled back with its
   transaction, nothing is counted twice (users' growth and marketing's
   category counter add up, they are not idempotent per order). A drain slower
   than its lease finds those rows taken (the DELETE does not return them) and
   skips them;
3. claims again while full batches come back, up to MAX_BATCHES; then it says
   there is more, and the task wakes another drain.

The batch's receivers run in one kameng.process_cache.scope(): the settings
they keep per process are checked in one cache round trip and the module
switches read once for the batch (its orders were paid before it began; the
next batch sees an edit). A receiver that raises is logged and the others
still run (announce, as before). The hot receivers (growth, points) join the
transaction without a savepoint of their own (kameng.db.joins_transaction:
four round trips fewer per row, issue 12), so a failed one may have written
half of its work: any receiver that fails, or a failed write that breaks the
transaction, has the batch's whole transaction rolled back, and each row is
then announced alone (announce_claimed): in a transaction of its own, and if
that fails too, each receiver in its own transactions. Every effect once,
never half of one. One transaction and one scope per batch rather than per
row halved the worker's CPU per order (docs/architecture.md, issue 12).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from kameng import events
from kameng.health import Backlog
from kameng.process_cache import scope
from orders.models import PaidAnnouncement
from orders.transitions import announce

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # far above a batch's time (~5 ms an order)
BATCH = 100
MAX_BATCHES = 20

_TABLE = PaidAnnouncement._meta.db_table
_COLUMNS = {f.name: f.column for f in PaidAnnouncement._meta.concrete_fields}
_RETURNED = ("id", *PaidAnnouncement.PAYLOAD, "claimed_until")
CLAIM = (
    f"UPDATE {_TABLE} SET {_COLUMNS['claimed_until']} = statement_timestamp() + %s "
    f"WHERE {_COLUMNS['id']} IN (SELECT {_COLUMNS['id']} FROM {_TABLE} "
    f"WHERE {_COLUMNS['claimed_until']} IS NULL "
    f"OR {_COLUMNS['claimed_until']} < statement_timestamp() "
    f"ORDER BY {_COLUMNS['id']} LIMIT %s FOR UPDATE SKIP LOCKED) "
    f"RETURNING {', '.join(_COLUMNS[name] for name in _RETURNED)}"
)
# The batch's rows deleted where they still carry this drain's lease (one
# claim's rows share it), returning those that did.
DELETE_HELD = (
    f"DELETE FROM {_TABLE} WHERE {_COLUMNS['id']} = ANY(%s) "
    f"AND {_COLUMNS['claimed_until']} = %s RETURNING {_COLUMNS['id']}"
)
# The per-vendor pick: SKIP LOCKED, = ANY(array) and RETURNING.
SQL_CLAIM_VENDORS = {"postgresql"}


def _claim_by_sql(batch: int) -> list[PaidAnnouncement]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(CLAIM, [LEASE, batch])
        rows = cursor.fetchall()
    return sorted(
        (PaidAnnouncement(**dict(zip(_RETURNED, row, strict=True))) for row in rows),
        key=lambda row: row.pk,
    )


def _claim_by_orm(batch: int) -> list[PaidAnnouncement]:
    with transaction.atomic():
        now = timezone.now()
        free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        ids = list(
            PaidAnnouncement.objects.filter(free)
            .order_by("id")
            .values_list("id", flat=True)[:batch]
        )
        until = now + LEASE
        PaidAnnouncement.objects.filter(free, id__in=ids).update(claimed_until=until)
        return list(
            PaidAnnouncement.objects.filter(id__in=ids, claimed_until=until).order_by(
                "id"
            )
        )


def claim_paid_announcements(batch: int = BATCH) -> list[PaidAnnouncement]:
    """Up to `batch` unclaimed (or lease-expired) rows, oldest first, now leased
    to the caller."""
    if connection.vendor in SQL_CLAIM_VENDORS:
        return _claim_by_sql(batch)
    return _claim_by_orm(batch)


def announce_batch(rows: list[PaidAnnouncement]) -> int:
    """Send order_paid for the rows of one claim in one transaction with their
    deletion; how many were announced (a row whose lease was lost to another
    drain is not). Should anything fail, all of it rolls back and each row is
    announced alone (announce_claimed)."""
    if len(rows) > 1:
        with transaction.atomic():
            held = _delete_held(rows)
            with scope():
                for row in rows:
                    if row.pk in held and (
                        announce(events.order_paid, row.payload())
                        or transaction.get_rollback()
                    ):
                        break
                else:
                    return len(held)
            transaction.set_rollback(True)
        logger.error(
            "order_paid for a batch of %s orders rolled back; each sent alone",
            len(rows),
        )
    return sum(announce_claimed(row) for row in rows)


def _delete_held(rows: list[PaidAnnouncement]) -> set[int]:
    """Delete the rows still carrying the lease they were claimed with: their ids."""
    held = set()
    for until in {row.claimed_until for row in rows}:
        ids = [row.pk for row in rows if row.claimed_until == until]
        if connection.vendor in SQL_CLAIM_VENDORS:
            with connection.cursor() as cursor:
                cursor.execute(DELETE_HELD, [ids, until])
                held.update(pk for (pk,) in cursor.fetchall())
        else:  # one writer at a time: read, then delete what was read
            leased = PaidAnnouncement.objects.filter(pk__in=ids, claimed_until=until)
            kept = set(leased.values_list("pk", flat=True))
            leased.filter(pk__in=kept).delete()
            held.update(kept)
    return held


def announce_claimed(row: PaidAnnouncement) -> bool:
    """Send order_paid for a row this drain claimed, in one transaction with the
    row's deletion; False when the lease was lost to another drain."""
    with transaction.atomic():
        if not _delete_claimed(row):
            return False
        with scope():
            failed = announce(events.order_paid, row.payload())
        if not failed and not transaction.get_rollback():
            return True
        transaction.set_rollback(True)
    # A receiver failed, perhaps halfway through its writes, or broke the
    # transaction: all of it rolled back, the deletion too. Announce it as the
    # task before the outbox did rather than again after every lease: the row
    # deleted first, then each receiver in its own transactions, a failing one
    # logged.
    logger.error("order_paid for order %s rolled back; sent again", row.order_id)
    if not _delete_claimed(row):
        return False
    with scope():
        announce(events.order_paid, row.payload())
    return True


def _delete_claimed(row: PaidAnnouncement) -> bool:
    deleted, _by_model = PaidAnnouncement.objects.filter(
        pk=row.pk, claimed_until=row.claimed_until
    ).delete()
    return bool(deleted)


@dataclass(frozen=True)
class Drained:
    announced: int
    more: bool  # stopped at MAX_BATCHES with full batches still coming


def drain_paid_announcements(
    *, batch: int = BATCH, max_batches: int = MAX_BATCHES
) -> Drained:
    """Announce what the outbox holds, oldest first (at-least-once claims,
    effects once: see the module's docstring)."""
    announced = 0
    for _round in range(max_batches):
        rows = claim_paid_announcements(batch)
        announced += announce_batch(rows)
        if len(rows) < batch:
            return Drained(announced=announced, more=False)
    return Drained(announced=announced, more=True)


BACKLOG_COUNT_CAP = 10_000  # counted up to this: never a full COUNT


def backlog() -> Backlog:
    """What the outbox holds now (kameng.health: /healthz's figures, the back
    office's banner when the oldest row waited past
    PAID_OUTBOX_STALE_AFTER_SECONDS): the oldest row by primary key, in a
    table that holds only what is pending, and when there is one, the rows
    counted up to a cap."""
    rows = PaidAnnouncement.objects.order_by("id")
    oldest = rows.values_list("created_at", flat=True).first()
    stale_after = settings.PAID_OUTBOX_STALE_AFTER_SECONDS
    if oldest is None:  # every page of the back office asks: one read
        return Backlog(
            waiting=0, more=False, oldest_age_s=None, stale_after_s=stale_after
        )
    waiting = rows[: BACKLOG_COUNT_CAP + 1].count()
    age = int((timezone.now() - oldest).total_seconds())
    more = waiting > BACKLOG_COUNT_CAP
    waiting = min(waiting, BACKLOG_COUNT_CAP)
    return Backlog(
        waiting=waiting,
        more=more,
        oldest_age_s=age,
        stale_after_s=stale_after,
        alert=gettext(
            "%(count)s paid orders are waiting for what follows a payment "
            "(growth, points, invitation rewards, first-order coupons), the "
            "oldest for %(minutes)s minutes. Check that a Celery worker is "
            "running and read its log."
        )
        % {
            "count": f"{waiting}+" if more else waiting,
            "minutes": max(1, age // 60),
        },
    )
