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
2. announces each row in a transaction of its own that first deletes the row
   WHERE it still carries this drain's lease: the receivers' writes and the
   delete commit together or not at all. A drain killed mid-batch leaves its
   rows claimed; another claims them after the lease, and as the dead drain's
   work rolled back with its transaction, nothing is counted twice (users'
   growth and marketing's category counter add up, they are not idempotent
   per order). A drain slower than its lease finds its row taken (the DELETE
   matches nothing) and skips it;
3. claims again while full batches come back, up to MAX_BATCHES; then it says
   there is more, and the task wakes another drain.

Each row's receivers run in a kameng.process_cache.scope(): the settings they
keep per process are checked in one cache round trip and the module switches
read once per row (an edit is seen by the next row). A receiver that raises is
logged and the others still run (announce, as before). The hot receivers
(growth, points) join the row's transaction without a savepoint of their own
(kameng.db.joins_transaction: four round trips fewer per row, issue 12), so a
failed one may have written half of its work: any receiver that fails, or a
failed write that breaks the transaction, has the row's whole transaction
rolled back, and the row is then announced the old way, each receiver in its
own transactions (announce_claimed): every effect once, never half of one.
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
# The per-vendor pick: SKIP LOCKED and RETURNING in one statement.
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
        for row in rows:
            announced += announce_claimed(row)
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
