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
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from users.models import ZERO, BuyerStats, LevelChange, MemberLevel, User


@dataclass(frozen=True)
class BuyerFigures:
    """A buyer's order history summed up by the app that owns orders."""

    total_spent: Decimal
    order_count: int
    last_order_at: datetime | None
    wallet_payments: int = 0
    gateway_payments: int = 0


def ordered_levels() -> list[MemberLevel]:
    """Levels from the lowest threshold up (rank breaks ties)."""
    return list(MemberLevel.objects.order_by("growth_threshold", "rank", "id"))


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


def _change_level(
    *, user: User, to: MemberLevel | None, growth: Decimal, reason: str
) -> LevelChange:
    change = LevelChange.objects.create(
        user=user,
        from_level_id=user.member_level_id,
        to_level=to,
        growth=growth,
        reason=reason,
    )
    User.objects.filter(pk=user.pk).update(member_level=to)
    user.member_level = to
    return change


def _upgrade_at_once(*, user: User, stats: BuyerStats, reason: str) -> None:
    levels = ordered_levels()
    target = level_for(stats.growth, levels)
    if _position(target, levels) > _position(user.member_level, levels):
        _change_level(user=user, to=target, growth=stats.growth, reason=reason)
        if stats.below_level_since is not None:
            stats.below_level_since = None
            stats.save(update_fields=["below_level_since"])


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
    if amount > 0:
        _upgrade_at_once(user=user, stats=stats, reason=reason)
    return stats


@transaction.atomic
def record_payment(
    *, user_id: int, amount: Decimal, payment_method: str = "", at=None
) -> BuyerStats:
    """A paid order: spend, order count, last order, payment method, growth."""
    user = User.objects.select_for_update().get(pk=user_id)
    _locked_stats(user_id)
    counter = {"wallet": "wallet_payments", "gateway": "gateway_payments"}
    extra = {}
    if payment_method in counter:
        extra[counter[payment_method]] = F(counter[payment_method]) + 1
    BuyerStats.objects.filter(user_id=user_id).update(
        total_spent=F("total_spent") + amount,
        growth=F("growth") + amount,
        order_count=F("order_count") + 1,
        last_order_at=at or timezone.now(),
        **extra,
    )
    stats = BuyerStats.objects.get(user_id=user_id)
    _upgrade_at_once(user=user, stats=stats, reason=LevelChange.Reason.PAYMENT)
    return stats


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
