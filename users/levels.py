"""Member levels: growth value and the level it earns.

Growth comes from paid spend (`record_payment`, from kameng.events.order_paid),
goes back with refunds (`record_refund`), and from any source another app adds
through `grow`. A buyer moves up at once when growth reaches a higher threshold;
the daily review (`review_levels`) also moves buyers down, but only after their
growth has stayed below their level for MEMBER_LEVEL_GRACE_DAYS. Every change is
a LevelChange row with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from kameng.db import joins_transaction
from kameng.process_cache import Stamped
from users.models import ZERO, BuyerStats, LevelChange, MemberLevel, User


@dataclass(frozen=True)
class BuyerFigures:
    """A buyer's order history summed up by the app that owns orders."""

    total_spent: Decimal
    order_count: int
    last_order_at: datetime | None
    wallet_payments: int = 0
    gateway_payments: int = 0


def _read_levels() -> tuple[MemberLevel, ...]:
    return tuple(MemberLevel.objects.order_by("growth_threshold", "rank", "id"))


# Every payment compares the buyer's growth with the levels: kept per process,
# read again after any level is saved or deleted (users.signals).
LEVELS = Stamped("users:member-levels", _read_levels)


def ordered_levels() -> list[MemberLevel]:
    """Levels from the lowest threshold up (rank breaks ties). The levels are
    this process's copies: read them, never save them."""
    return list(LEVELS.get())


def level_for(growth: Decimal, levels: list[MemberLevel]) -> MemberLevel | None:
    """The highest level whose threshold `growth` reaches, or None."""
    reached = None
    for level in levels:
        if level.growth_threshold <= growth:
            reached = level
    return reached


def next_level(
    level: MemberLevel | None, levels: list[MemberLevel]
) -> MemberLevel | None:
    position = _position(level, levels)
    return levels[position + 1] if position + 1 < len(levels) else None


def _position(level: MemberLevel | None, levels: list[MemberLevel]) -> int:
    if level is None:
        return -1
    ids = [each.pk for each in levels]
    return ids.index(level.pk) if level.pk in ids else -1


def _locked_stats(user_id: int) -> BuyerStats:
    BuyerStats.objects.get_or_create(user_id=user_id)
    return BuyerStats.objects.select_for_update().get(user_id=user_id)


def _record_level_change(
    *,
    user_id: int,
    from_level_id: int | None,
    to: MemberLevel | None,
    growth: Decimal,
    reason: str,
) -> LevelChange:
    change = LevelChange.objects.create(
        user_id=user_id,
        from_level_id=from_level_id,
        to_level_id=getattr(to, "pk", None),
        growth=growth,
        reason=reason,
    )
    User.objects.filter(pk=user_id).update(member_level_id=getattr(to, "pk", None))
    return change


def _change_level(
    *, user: User, to: MemberLevel | None, growth: Decimal, reason: str
) -> LevelChange:
    change = _record_level_change(
        user_id=user.pk,
        from_level_id=user.member_level_id,
        to=to,
        growth=growth,
        reason=reason,
    )
    user.member_level = to
    return change


def _upgrade_at_once(
    *, user_id: int, level_id: int | None, growth: Decimal, reason: str
) -> bool:
    """Up to the highest level `growth` reaches, if it is above the buyer's
    (user and figures locked by the caller); a grace period under way ends."""
    levels = ordered_levels()
    target = level_for(growth, levels)
    by_id = {level.pk: level for level in levels}
    if _position(target, levels) <= _position(by_id.get(level_id), levels):
        return False
    _record_level_change(
        user_id=user_id, from_level_id=level_id, to=target, growth=growth, reason=reason
    )
    BuyerStats.objects.filter(user_id=user_id, below_level_since__isnull=False).update(
        below_level_since=None
    )
    return True


@transaction.atomic
def grow(
    *, user: User, amount: Decimal, reason: str = LevelChange.Reason.PAYMENT
) -> BuyerStats:
    """Add `amount` (negative to take back) to the buyer's growth value; growth
    never goes below zero. A rise that reaches a higher level upgrades at once; a
    fall waits for the daily review and its grace period."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise TypeError("growth amounts are finite Decimals")
    user = User.objects.select_for_update().get(pk=user.pk)
    stats = _locked_stats(user.pk)
    stats.growth = max(ZERO, stats.growth + amount)
    stats.save(update_fields=["growth"])
    if amount > 0 and _upgrade_at_once(
        user_id=user.pk,
        level_id=user.member_level_id,
        growth=stats.growth,
        reason=reason,
    ):
        stats.below_level_since = None
    return stats


# record_payment's two statements, hand-written (names from model metadata):
# on every sale the ORM's building and compiling of them cost more CPU than
# the database's answer (issue 12). Both vendors know RETURNING (SQLite 3.35+).
def _quoted(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


_SQL: dict[tuple, str] = {}  # per vendor: one process may test both


def _sql(build, *args) -> str:
    key = (connection.vendor, build.__name__, *args)
    sql = _SQL.get(key)
    if sql is None:
        sql = _SQL[key] = build(*args)
    return sql


def _lock_user_sql() -> str:
    """The buyer's level, the user row locked (first, as every level change
    locks it: user, then figures)."""
    sql = (
        f"SELECT {_quoted(User, 'member_level')} FROM "
        f"{connection.ops.quote_name(User._meta.db_table)} "
        f"WHERE {_quoted(User, 'id')} = %s"
    )
    # FOR NO KEY UPDATE: level changes still take turns (they all lock the row
    # this way or stronger), but the buyer's next sale, whose order row names
    # the user (a foreign key: FOR KEY SHARE), does not wait for it (issue 12).
    if connection.features.has_select_for_no_key_update:
        return sql + " FOR NO KEY UPDATE"
    return sql + (" FOR UPDATE" if connection.features.has_select_for_update else "")


PAYMENT_COUNTERS = {"wallet": "wallet_payments", "gateway": "gateway_payments"}


def _add_payment_sql(counter: str | None) -> str:
    """One paid order added to the buyer's figures (the row locked until
    commit); returns the growth after it."""
    table = connection.ops.quote_name(BuyerStats._meta.db_table)
    moved = [
        f"{_quoted(BuyerStats, name)} = {_quoted(BuyerStats, name)} + %s"
        for name in ("total_spent", "growth", "order_count")
    ]
    if counter is not None:
        name = _quoted(BuyerStats, counter)
        moved.append(f"{name} = {name} + 1")
    moved.append(f"{_quoted(BuyerStats, 'last_order_at')} = %s")
    return (
        f"UPDATE {table} SET {', '.join(moved)} "
        f"WHERE {_quoted(BuyerStats, 'user')} = %s "
        f"RETURNING {_quoted(BuyerStats, 'growth')}"
    )


def _as_decimal(value) -> Decimal:
    # PostgreSQL answers a Decimal; SQLite, whose decimals are numbers, an int
    # or a float (two decimal places, well within a float's digits).
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(Decimal("0.01"))


@joins_transaction  # the outbox's drain rolls the row back if this fails
def record_payment(
    *, user_id: int, amount: Decimal, payment_method: str = "", at=None
) -> Decimal:
    """A paid order: spend, order count, last order, payment method, growth;
    a level the growth now reaches at once. Returns the growth after it.

    Two statements for a buyer with figures: the user row locked (reading
    its level), then the figures moved in one UPDATE that returns the growth
    (and locks them); the levels are this process's (ordered_levels)."""
    with connection.cursor() as cursor:
        cursor.execute(_sql(_lock_user_sql), [user_id])
        row = cursor.fetchone()
        if row is None:
            raise User.DoesNotExist(f"no user {user_id}")
        level_id = row[0]
        counter = PAYMENT_COUNTERS.get(payment_method)
        params = [
            amount,
            amount,
            1,
            connection.ops.adapt_datetimefield_value(at or timezone.now()),
            user_id,
        ]
        cursor.execute(_sql(_add_payment_sql, counter), params)
        moved = cursor.fetchone()
        if moved is None:  # the buyer's first figures
            _locked_stats(user_id)
            cursor.execute(_sql(_add_payment_sql, counter), params)
            moved = cursor.fetchone()
    growth = _as_decimal(moved[0])
    _upgrade_at_once(
        user_id=user_id,
        level_id=level_id,
        growth=growth,
        reason=LevelChange.Reason.PAYMENT,
    )
    return growth


@transaction.atomic
def record_refund(*, user_id: int, amount: Decimal) -> BuyerStats:
    """Money back: the spend and the growth it earned are taken back (not below
    zero); a level it no longer reaches goes at the daily review after grace."""
    stats = _locked_stats(user_id)
    stats.total_spent = max(ZERO, stats.total_spent - amount)
    stats.growth = max(ZERO, stats.growth - amount)
    stats.save(update_fields=["total_spent", "growth"])
    return stats


def _review_one(*, user_id: int, levels, now, grace: timedelta) -> str | None:
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        stats = _locked_stats(user_id)
        target = level_for(stats.growth, levels)
        have, want = _position(user.member_level, levels), _position(target, levels)
        if want > have:
            _change_level(
                user=user,
                to=target,
                growth=stats.growth,
                reason=LevelChange.Reason.DAILY,
            )
            outcome = "upgraded"
        elif want < have and stats.below_level_since is None:
            stats.below_level_since = now
            stats.save(update_fields=["below_level_since"])
            return "grace_started"
        elif want < have and now - stats.below_level_since >= grace:
            _change_level(
                user=user,
                to=target,
                growth=stats.growth,
                reason=LevelChange.Reason.GRACE_ENDED,
            )
            outcome = "downgraded"
        elif want < have:
            return None  # still in its grace period
        else:
            outcome = None
        if stats.below_level_since is not None:
            stats.below_level_since = None
            stats.save(update_fields=["below_level_since"])
        return outcome


def review_levels(*, now=None, grace_days: int | None = None) -> dict[str, int]:
    """The daily review of every buyer: up at once, down after the grace period.
    Reads all buyers in one pass and locks only those whose level moves or whose
    grace period starts or ends."""
    now = now or timezone.now()
    days = settings.MEMBER_LEVEL_GRACE_DAYS if grace_days is None else grace_days
    grace = timedelta(days=days)
    levels = ordered_levels()
    counts = {"upgraded": 0, "downgraded": 0, "grace_started": 0}
    rows = (
        User.objects.filter(is_staff=False)
        .values_list(
            "pk", "member_level_id", "stats__growth", "stats__below_level_since"
        )
        .order_by("pk")
    )
    by_id = {level.pk: level for level in levels}
    for user_id, level_id, growth, below_since in rows.iterator(chunk_size=2000):
        target = level_for(growth or ZERO, levels)
        have = _position(by_id.get(level_id), levels)
        want = _position(target, levels)
        if want == have and below_since is None:
            continue
        if want < have and below_since is not None and now - below_since < grace:
            continue
        outcome = _review_one(user_id=user_id, levels=levels, now=now, grace=grace)
        if outcome:
            counts[outcome] += 1
    return counts


@transaction.atomic
def recompute_buyer_stats(*, figures: dict[int, BuyerFigures]) -> int:
    """Set buyers' figures from their order history (the demo seed, a repair):
    growth = net paid spend; levels follow at once, both ways. Returns how many
    levels changed; a second run with the same figures changes nothing."""
    levels = ordered_levels()
    changed = 0
    users = (
        User.objects.select_for_update(of=("self",))
        .filter(pk__in=list(figures))
        .select_related("member_level")
    )
    for user in users:
        numbers = figures[user.pk]
        BuyerStats.objects.update_or_create(
            user=user,
            defaults={
                "growth": max(ZERO, numbers.total_spent),
                "total_spent": max(ZERO, numbers.total_spent),
                "order_count": numbers.order_count,
                "last_order_at": numbers.last_order_at,
                "wallet_payments": numbers.wallet_payments,
                "gateway_payments": numbers.gateway_payments,
                "below_level_since": None,
            },
        )
        target = level_for(max(ZERO, numbers.total_spent), levels)
        if target != user.member_level:
            _change_level(
                user=user,
                to=target,
                growth=max(ZERO, numbers.total_spent),
                reason=LevelChange.Reason.RECOMPUTED,
            )
            changed += 1
    return changed
