"""Tamper evidence for the shop's append-only records, off the sale path.

A sale writes its ledger row and order events as plain INSERTs; nothing here adds
a write or a lock to it. Every minute the sealer (beat entry "kameng: audit
sealer") takes the rows of the sealed tables it has not sealed yet and, in the
order it seals them, appends one AuditSeal each:

    hash = HMAC(key, position | table | row id | row digest | previous hash)

The row digest is SHA-256 over a canonical serialisation of the row's columns
(read through the model's metadata). The chain head row is locked for the whole
run, so two sealers never interleave.

Rows are picked by "not sealed yet", not by "id above the last one": a
transaction that took a lower id and commits after a higher id was sealed is
sealed by a later run. The sealer looks back AUDIT_SEAL_GRACE_SECONDS behind the
highest id it sealed (AuditSealCursor); a row still unsealed below that window is
reported by verify_audit, as is every edited or deleted sealed row and every
break in the chain.

The key is AUDIT_CHAIN_KEY (derived from CARD_HASH_KEY when unset): someone who
can write to the database but does not hold the key cannot re-chain the seals
after editing a row.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext

from kameng.models import (
    AuditChainHead,
    AuditSeal,
    AuditSealCursor,
    AuditVerification,
)

# The append-only records whose rows are sealed, by model label (never a table
# name: the table is the model's own db_table).
SEALED_MODELS = (
    "kameng.auditentry",
    "admin.logentry",
    "catalog.codereveal",
    "catalog.pricechange",
    "orders.orderevent",
    "users.ledgerentry",
)
HEAD_ID = 1
VERIFY_CHUNK = 2000
# verify_audit lists at most this many problems of each kind (and counts the rest).
MAX_LISTED = 100


def chain_key() -> bytes:
    key = settings.AUDIT_CHAIN_KEY
    if key:
        return key.encode()
    return hmac.new(
        settings.CARD_HASH_KEY.encode(), b"kameng audit chain", hashlib.sha256
    ).digest()


def chain_hash(
    *, position: int, table: str, row_id: int, digest: str, previous: str
) -> str:
    message = f"{position}|{table}|{row_id}|{digest}|{previous}".encode()
    return hmac.new(chain_key(), message, hashlib.sha256).hexdigest()


def canonical(value):
    """A column's value in a form that does not depend on how it was read."""
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(datetime.UTC)
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, datetime.timedelta):
        return str(value // datetime.timedelta(microseconds=1))
    if isinstance(value, dict):
        return {str(key): canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    return value


def column_names(model) -> list[str]:
    return [column.attname for column in model._meta.concrete_fields]


def row_digest(model, row: dict) -> str:
    """SHA-256 of the row's columns. A column that is NULL is left out, so adding
    a nullable column to a sealed table leaves the digests of old rows as they
    were (see docs: a column added with a non-null default would not)."""
    payload = {
        name: canonical(value) for name, value in row.items() if value is not None
    }
    text = json.dumps(
        [model._meta.label_lower, payload],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def sealed_model(label: str):
    return apps.get_model(label)


def unsealed(model, label: str):
    """The rows of `model` that have no seal yet."""
    seals = AuditSeal.objects.filter(table=label, row_id=OuterRef("pk"))
    return model._base_manager.filter(~Exists(seals))


def lock_head() -> AuditChainHead:
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=HEAD_ID)
    return head


@dataclass
class SealRun:
    sealed: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.sealed.values())


def seal_pending(*, batch: int | None = None) -> SealRun:
    """Seal up to `batch` unsealed rows of each sealed table (oldest id first).

    The rows are read and digested outside any transaction; only appending
    their seals holds the chain head's lock (and, on SQLite, the write lock), so
    a sale waits for the sealer at most for one short INSERT."""
    batch = batch or settings.AUDIT_SEAL_BATCH
    run = SealRun()
    for label in SEALED_MODELS:
        model = sealed_model(label)
        cursor = AuditSealCursor.objects.filter(table=label).first()
        rows = (
            unsealed(model, label)
            .filter(pk__gt=cursor.floor if cursor else 0)
            .order_by("pk")
            .values(*column_names(model))[:batch]
        )
        pk_name = model._meta.pk.attname
        digests = [(row[pk_name], row_digest(model, row)) for row in rows]
        run.sealed[label] = append_seals(label, digests)
    return run


@transaction.atomic
def append_seals(label: str, digests: list[tuple[int, str]]) -> int:
    """Chain these (row id, digest) pairs after the head, less any a concurrent
    sealer appended meanwhile, and move the table's cursor on."""
    now = timezone.now()
    head = lock_head()
    already = set(
        AuditSeal.objects.filter(
            table=label, row_id__in=[row_id for row_id, _ in digests]
        ).values_list("row_id", flat=True)
    )
    seals = []
    for row_id, digest in digests:
        if row_id in already:
            continue
        position = head.last_position + 1
        chained = chain_hash(
            position=position,
            table=label,
            row_id=row_id,
            digest=digest,
            previous=head.last_hash,
        )
        seals.append(
            AuditSeal(
                position=position,
                table=label,
                row_id=row_id,
                digest=digest,
                previous_hash=head.last_hash,
                hash=chained,
                sealed_at=now,
            )
        )
        head.last_position, head.last_hash = position, chained
    if seals:
        AuditSeal.objects.bulk_create(seals)
        head.updated_at = now
        head.save(update_fields=["last_position", "last_hash", "updated_at"])
    cursor, _ = AuditSealCursor.objects.get_or_create(
        table=label, defaults={"mark_at": now}
    )
    advance_cursor(cursor, label=label, now=now)
    return len(seals)


def seal_until_caught_up(*, max_seconds: float) -> int:
    """Seal run after run (each its own transaction) while a table still fills a
    whole batch, for at most about `max_seconds`: a busy minute's rows are
    sealed by the next beat run, not spread over many."""
    began = time.monotonic()
    total = 0
    while True:
        run = seal_pending()
        total += run.total
        full = any(count >= settings.AUDIT_SEAL_BATCH for count in run.sealed.values())
        if not full or time.monotonic() - began >= max_seconds:
            return total


def advance_cursor(cursor: AuditSealCursor, *, label: str, now) -> None:
    """Once the grace period has passed since the mark, the mark becomes the
    floor and the highest sealed id the new mark."""
    grace = datetime.timedelta(seconds=settings.AUDIT_SEAL_GRACE_SECONDS)
    if now - cursor.mark_at < grace:
        return
    highest = AuditSeal.objects.filter(table=label).aggregate(top=Max("row_id"))
    cursor.floor = max(cursor.floor, cursor.mark_row_id)
    cursor.mark_row_id = highest["top"] or 0
    cursor.mark_at = now
    cursor.save(update_fields=["floor", "mark_row_id", "mark_at"])


# --- verification ----------------------------------------------------------------


class Problem(models.TextChoices):
    EDITED = "edited"
    DELETED = "deleted"
    CHAIN = "chain"
    TAIL = "tail"
    UNSEALED = "unsealed"


@dataclass
class Verification:
    seals_checked: int = 0
    problems: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, **facts) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.counts[kind] <= MAX_LISTED:
            self.problems.append({"kind": kind, **facts})

    @property
    def ok(self) -> bool:
        return not self.counts


def table_facts(label: str) -> dict:
    """What a message names: the table and the model's name for people."""
    try:
        model = sealed_model(label)
    except LookupError:
        return {"table": label, "model": label}
    return {"table": model._meta.db_table, "model": label}


def verify_chain(result: Verification) -> None:
    """The seals up to the head, in order: each one's hash is recomputed from
    its own fields and the hash before it. (The head is read first: a sealer
    running meanwhile appends beyond it.)"""
    head = AuditChainHead.objects.filter(pk=HEAD_ID).first()
    seals = AuditSeal.objects.order_by("position")
    if head is not None:
        seals = seals.filter(position__lte=head.last_position)
    previous = ""
    expected = 1
    last = None
    for seal in seals.iterator(chunk_size=5000):
        result.seals_checked += 1
        recomputed = chain_hash(
            position=seal.position,
            table=seal.table,
            row_id=seal.row_id,
            digest=seal.digest,
            previous=previous,
        )
        if (
            seal.position != expected
            or seal.previous_hash != previous
            or seal.hash != recomputed
        ):
            result.add(
                Problem.CHAIN,
                position=seal.position,
                row=seal.row_id,
                **table_facts(seal.table),
            )
        previous, expected, last = seal.hash, seal.position + 1, seal
    found = last.position if last else 0
    if head is not None and (
        head.last_position != found or head.last_hash != (last.hash if last else "")
    ):
        result.add(Problem.TAIL, found=found, expected=head.last_position)


def verify_rows(result: Verification, label: str) -> None:
    """Each sealed row of one table is still there, as it was sealed."""
    model = sealed_model(label)
    pk_name = model._meta.pk.attname
    after = None
    while True:
        seals = AuditSeal.objects.filter(table=label).order_by("row_id")
        if after is not None:
            seals = seals.filter(row_id__gt=after)
        chunk = list(seals.values_list("row_id", "digest")[:VERIFY_CHUNK])
        if not chunk:
            return
        rows = {
            row[pk_name]: row
            for row in model._base_manager.filter(
                pk__in=[row_id for row_id, _ in chunk]
            ).values(*column_names(model))
        }
        for row_id, digest in chunk:
            row = rows.get(row_id)
            if row is None:
                result.add(Problem.DELETED, row=row_id, **table_facts(label))
            elif row_digest(model, row) != digest:
                result.add(Problem.EDITED, row=row_id, **table_facts(label))
        after = chunk[-1][0]


def verify_sealed_in_time(result: Verification, label: str) -> None:
    """Rows below the sealer's window that it never sealed (inserted behind its
    back, or committed after the grace period)."""
    model = sealed_model(label)
    cursor = AuditSealCursor.objects.filter(table=label).first()
    if cursor is None or cursor.floor == 0:
        return
    missed = (
        unsealed(model, label)
        .filter(pk__lte=cursor.floor)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for row_id in missed.iterator(chunk_size=VERIFY_CHUNK):
        result.add(
            Problem.UNSEALED,
            row=row_id,
            minutes=settings.AUDIT_SEAL_GRACE_SECONDS // 60,
            **table_facts(label),
        )


def verify() -> Verification:
    """Recompute the chain and every sealed row's digest."""
    result = Verification()
    verify_chain(result)
    for label in SEALED_MODELS:
        verify_rows(result, label)
        verify_sealed_in_time(result, label)
    return result


def describe(problem: dict) -> str:
    """One problem in the reader's language, naming the table and row."""
    kind = problem["kind"]
    if kind == Problem.EDITED:
        text = gettext(
            "Table %(table)s, row %(row)s: changed after it was sealed "
            "(its content no longer matches the seal)."
        )
    elif kind == Problem.DELETED:
        text = gettext("Table %(table)s, row %(row)s: deleted after it was sealed.")
    elif kind == Problem.CHAIN:
        text = gettext(
            "Seal chain broken at seal %(position)s (table %(table)s, row "
            "%(row)s): seals were reordered, removed or edited."
        )
    elif kind == Problem.TAIL:
        text = gettext(
            "The seal chain ends at seal %(found)s but its head says %(expected)s: "
            "the last seals were removed or the head was edited."
        )
    else:
        text = gettext(
            "Table %(table)s, row %(row)s: still not sealed, more than "
            "%(minutes)s minutes after the sealer passed it (inserted behind its "
            "back, or committed very late)."
        )
    return text % problem


# --- the nightly check -----------------------------------------------------------


def record_verification(result: Verification) -> AuditVerification:
    """Keep the result (the super admin's banner reads the latest) and, when it
    found problems, mail every active super admin that has an address."""
    verification = AuditVerification.objects.create(
        seals_checked=result.seals_checked, problems=result.problems
    )
    if not result.ok:
        mail_super_admins(verification, result)
    return verification


def mail_super_admins(verification: AuditVerification, result: Verification) -> int:
    user_model = get_user_model()
    recipients = list(
        user_model.objects.filter(is_superuser=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        lines = [describe(problem) for problem in result.problems]
        hidden = sum(result.counts.values()) - len(result.problems)
        if hidden > 0:
            lines.append(
                gettext("... and %(count)s more problems.") % {"count": hidden}
            )
        subject = gettext("Kameng: the audit trail was tampered with")
        body = "\n".join(
            [
                gettext("The audit verification of %(when)s found %(count)s problems:")
                % {
                    "when": timezone.localtime(verification.ran_at).strftime(
                        "%Y-%m-%d %H:%M"
                    ),
                    "count": sum(result.counts.values()),
                },
                "",
                *lines,
            ]
        )
    return send_mail(subject, body, None, recipients)
