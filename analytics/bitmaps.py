"""Buyer bitmaps (analytics.BuyerBitmap): the users of a kind on each shop day,
one bit per user id, and the same for aligned blocks of 2, 4 … 32 days, so a
period's unique buyers, visitors and funnel steps are the OR of a few blocks
and a popcount, in Python, the same on every database.

Written from the buyer days (analytics.BuyerDay, which stay the exact record):
a day's bitmaps are built from its rows (`rebuild_bitmaps`), or only the bits
of the users whose day changed are set again (`update_day_bitmaps`, the
incremental refresh); the blocks holding a changed day are then ORed again
from their two halves (`refresh_blocks`). A block of span s starts on a day
whose ordinal s divides; a period is cut into the largest such blocks that fit
(`pieces`): 30 days are at most ten blocks instead of 30 days.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from django.db.models import Q

from analytics.models import BuyerBitmap, BuyerDay

Kind = BuyerBitmap.Kind
ALL = "all"
SPANS = (1, 2, 4, 8, 16, 32)
FUNNEL_KINDS = (Kind.VISITOR, Kind.VIEWER, Kind.PLACED, Kind.PLACED_PAID)

Maps = dict[tuple[str, str], int]  # (kind, key) → bitmap as an int


def level_key(level_id: int | None) -> str:
    """The breakdown of a member level's buyers (level:0: buyers without one)."""
    return f"level:{level_id or 0}"


def pack(bits: int) -> bytes:
    return zlib.compress(bits.to_bytes((bits.bit_length() + 7) // 8, "little"), 1)


def unpack(data) -> int:
    return int.from_bytes(zlib.decompress(bytes(data)), "little")


def block_start(day: date, span: int) -> date:
    ordinal = day.toordinal()
    return date.fromordinal(ordinal - ordinal % span)


def pieces(since: date, until: date) -> list[tuple[date, int]]:
    """The blocks (first day, span) that make up `since` … `until` exactly,
    each the largest aligned block that starts there and fits."""
    found = []
    first, last = since.toordinal(), until.toordinal()
    while first <= last:
        span = SPANS[-1]
        while span > 1 and (first % span or first + span - 1 > last):
            span //= 2
        found.append((date.fromordinal(first), span))
        first += span
    return found


def read_maps(blocks: Iterable[tuple[date, int]], *, kinds=None, key=None) -> Maps:
    """The OR of these blocks' bitmaps, per kind and key (one statement)."""
    blocks = list(blocks)
    found: Maps = defaultdict(int)
    if not blocks:
        return found
    where = Q()
    for day, span in blocks:
        where |= Q(day=day, span=span)
    rows = BuyerBitmap.objects.filter(where)
    if kinds is not None:
        rows = rows.filter(kind__in=kinds)
    if key is not None:
        rows = rows.filter(key=key)
    for kind, row_key, bits in rows.values_list("kind", "key", "bits"):
        found[(kind, row_key)] |= unpack(bits)
    return found


def users_of(
    blocks: Iterable[tuple[date, int]], kinds: Iterable[str], *, key: str = ALL
) -> dict[str, int]:
    """kind → the bitmap of users of that kind in any of the blocks."""
    kinds = list(kinds)
    maps = read_maps(blocks, kinds=kinds, key=key)
    return {kind: maps.get((kind, key), 0) for kind in kinds}


def write_maps(day: date, span: int, maps: Maps) -> None:
    """Replace the bitmaps of the block (day, span); empty ones are left out."""
    BuyerBitmap.objects.filter(day=day, span=span).delete()
    BuyerBitmap.objects.bulk_create(
        BuyerBitmap(day=day, span=span, kind=kind, key=key, bits=pack(bits))
        for (kind, key), bits in sorted(maps.items())
        if bits
    )


def day_rows(day: date, users: list[int] | None = None):
    rows = BuyerDay.objects.filter(day=day)
    if users is not None:
        rows = rows.filter(user_id__in=users)
    return rows.values_list(
        "user_id",
        "member_level_id",
        "visits",
        "views",
        "placed",
        "placed_paid",
        "orders",
    )


def maps_of(rows) -> Maps:
    """The bitmaps of buyer-day rows (user, level, visits, views, placed,
    placed_paid, orders)."""
    rows = list(rows)
    if not rows:
        return {}
    size = max(row[0] for row in rows) // 8 + 1
    arrays: dict[tuple[str, str], bytearray] = {}

    def mark(kind: str, key: str, user: int) -> None:
        array = arrays.get((kind, key))
        if array is None:
            array = arrays[(kind, key)] = bytearray(size)
        array[user >> 3] |= 1 << (user & 7)

    for user, level, visits, views, placed, placed_paid, orders in rows:
        if visits:
            mark(Kind.VISITOR, ALL, user)
        if views:
            mark(Kind.VIEWER, ALL, user)
        if placed:
            mark(Kind.PLACED, ALL, user)
        if placed_paid:
            mark(Kind.PLACED_PAID, ALL, user)
        if orders:
            mark(Kind.BUYER, ALL, user)
            mark(Kind.BUYER, level_key(level), user)
    return {name: int.from_bytes(array, "little") for name, array in arrays.items()}


def refresh_blocks(days: Iterable[date]) -> None:
    """OR again every block holding one of these days, from its two halves,
    the smaller blocks first."""
    starts = set(days)
    for span in SPANS[1:]:
        half = span // 2
        starts = {block_start(day, span) for day in starts}
        for start in sorted(starts):
            write_maps(
                start, span, read_maps([(start, half), (start + timedelta(half), half)])
            )


def rebuild_bitmaps(*, since: date, until: date) -> None:
    """Build the bitmaps of `since` … `until` from their buyer days (in the
    caller's transaction), then the blocks holding them."""
    days = [since + timedelta(n) for n in range((until - since).days + 1)]
    for day in days:
        write_maps(day, 1, maps_of(day_rows(day)))
    refresh_blocks(days)


def update_day_bitmaps(day: date, users: Iterable[int]) -> None:
    """Set the bits of these users on `day` again from their buyer days
    (cleared everywhere first: a user may have left a kind or a level); the
    caller refreshes the blocks."""
    users = sorted(set(users))
    if not users:
        return
    mask = bytearray(users[-1] // 8 + 1)
    for user in users:
        mask[user >> 3] |= 1 << (user & 7)
    cleared = ~int.from_bytes(mask, "little")
    maps: Maps = defaultdict(int, read_maps([(day, 1)]))
    for name in maps:
        maps[name] &= cleared
    for name, bits in maps_of(day_rows(day, users)).items():
        maps[name] |= bits
    write_maps(day, 1, maps)
