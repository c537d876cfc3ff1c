"""Supplier and offer health, computed from recorded calls (SupplierCall rows).

API (all keyword-only, read-only, safe to call from pages, admin and services)::

    supplier_health(*, supplier_ids=None, window=None, max_calls=None, now=None)
        -> dict[supplier_id, Health]
    offer_health(*, offer_ids=None, sku_ids=None, window=None, max_calls=None,
                 now=None) -> dict[offer_id, Health]

Every supplier (offer) asked for gets an entry, also one without calls
(``calls == 0``, ``success_rate``/``p50_ms``/``p95_ms`` None). ``None`` ids means
"all of them"; ``sku_ids`` limits offers to those SKUs.

What is counted: the most recent ``max_calls`` calls (per supplier / per offer)
made within ``window`` before ``now``, whatever the operation (submit, query,
callback, balance). Outcomes ``success`` and ``processing`` count as success;
``failed``, ``timeout``, ``error``, ``bad_response`` and ``rejected`` as failure.
``p50_ms``/``p95_ms`` are continuous percentiles (``percentile_cont``: linear
interpolation) of ``latency_ms``, floats in milliseconds.

``Health.degraded`` is True when the supplier's breaker is open, or when there
are at least SUPPLIER_HEALTH_MIN_CALLS calls and the success rate is below
SUPPLIER_HEALTH_MIN_SUCCESS_RATE. An offer's ``breaker_state`` is its supplier's;
an offer is judged on its own calls (plus that breaker). Whether a supplier or
offer is *enabled* is an operator's choice and not part of health: callers that
pick an offer check ``enabled`` themselves.

Defaults come from settings: SUPPLIER_HEALTH_WINDOW_MINUTES,
SUPPLIER_HEALTH_MAX_CALLS, SUPPLIER_HEALTH_MIN_CALLS,
SUPPLIER_HEALTH_MIN_SUCCESS_RATE.

Cost: two queries per call, whatever the number of suppliers or offers: one for
the suppliers/offers (and breaker states), one for the call statistics. On
PostgreSQL the statistics are aggregated in the database (``row_number()`` window
to keep the last ``max_calls``, ``percentile_cont`` for latency); elsewhere
(SQLite) the same bounded row set is fetched and aggregated in Python, with the
same percentile definition, so both give the same figures.

Lower level, for callers that already hold the rows: ``recent_call_stats(by=
"supplier"|"offer", ids=...)`` returns ``CallStats`` per id (one query) and
``judge(stats, breaker_state=...)`` turns them into a ``Health``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from catalog.models import Supplier, SupplierCall, SupplierOffer

SUCCESS_OUTCOMES = (SupplierCall.Outcome.SUCCESS, SupplierCall.Outcome.PROCESSING)
_COLUMNS = {"supplier": "supplier_id", "offer": "offer_id"}


@dataclass(frozen=True)
class CallStats:
    calls: int = 0
    successes: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None


@dataclass(frozen=True)
class Health:
    calls: int
    successes: int
    success_rate: float | None  # 0..1, None without calls
    p50_ms: float | None
    p95_ms: float | None
    breaker_state: str
    degraded: bool

    @property
    def healthy(self) -> bool:
        return not self.degraded

    @property
    def success_percent(self) -> float | None:
        return None if self.success_rate is None else round(self.success_rate * 100, 1)


def judge(stats: CallStats, *, breaker_state: str) -> Health:
    rate = stats.successes / stats.calls if stats.calls else None
    degraded = breaker_state == Supplier.Breaker.OPEN or (
        stats.calls >= settings.SUPPLIER_HEALTH_MIN_CALLS
        and rate is not None
        and rate < settings.SUPPLIER_HEALTH_MIN_SUCCESS_RATE
    )
    return Health(
        calls=stats.calls,
        successes=stats.successes,
        success_rate=rate,
        p50_ms=stats.p50_ms,
        p95_ms=stats.p95_ms,
        breaker_state=breaker_state,
        degraded=degraded,
    )


def supplier_health(
    *,
    supplier_ids: Iterable[int] | None = None,
    window: timedelta | None = None,
    max_calls: int | None = None,
    now: datetime | None = None,
) -> dict[int, Health]:
    suppliers = Supplier.objects.order_by()
    if supplier_ids is not None:
        suppliers = suppliers.filter(pk__in=list(supplier_ids))
    breakers = dict(suppliers.values_list("pk", "breaker_state"))
    stats = recent_call_stats(
        by="supplier", ids=list(breakers), window=window, max_calls=max_calls, now=now
    )
    return {
        pk: judge(stats.get(pk, CallStats()), breaker_state=state)
        for pk, state in breakers.items()
    }


def offer_health(
    *,
    offer_ids: Iterable[int] | None = None,
    sku_ids: Iterable[int] | None = None,
    window: timedelta | None = None,
    max_calls: int | None = None,
    now: datetime | None = None,
) -> dict[int, Health]:
    offers = SupplierOffer.objects.order_by()
    if offer_ids is not None:
        offers = offers.filter(pk__in=list(offer_ids))
    if sku_ids is not None:
        offers = offers.filter(sku_id__in=list(sku_ids))
    breakers = dict(offers.values_list("pk", "supplier__breaker_state"))
    stats = recent_call_stats(
        by="offer", ids=list(breakers), window=window, max_calls=max_calls, now=now
    )
    return {
        pk: judge(stats.get(pk, CallStats()), breaker_state=state)
        for pk, state in breakers.items()
    }


def recent_call_stats(
    *,
    by: str,
    ids: list[int],
    window: timedelta | None = None,
    max_calls: int | None = None,
    now: datetime | None = None,
) -> dict[int, CallStats]:
    """Call statistics per supplier or offer id (one query; none for no ids)."""
    column = _COLUMNS[by]
    if not ids:
        return {}
    if window is None:
        window = timedelta(minutes=settings.SUPPLIER_HEALTH_WINDOW_MINUTES)
    if max_calls is None:
        max_calls = settings.SUPPLIER_HEALTH_MAX_CALLS
    if max_calls < 1:
        raise ValueError("max_calls must be at least 1")
    since = (now or timezone.now()) - window
    if connection.vendor == "postgresql":
        return _stats_in_postgres(column, ids, since, max_calls)
    return _stats_in_python(column, ids, since, max_calls)


def _stats_in_postgres(column, ids, since, max_calls) -> dict[int, CallStats]:
    # `column` comes from _COLUMNS only; every value is a parameter.
    sql = f"""
        SELECT key, COUNT(*), COUNT(*) FILTER (WHERE outcome = ANY(%s)),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms),
               percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms)
        FROM (
            SELECT {column} AS key, outcome, latency_ms,
                   row_number() OVER (
                       PARTITION BY {column} ORDER BY created_at DESC, id DESC
                   ) AS rn
            FROM {SupplierCall._meta.db_table}
            WHERE {column} = ANY(%s) AND created_at >= %s
        ) recent
        WHERE rn <= %s
        GROUP BY key
    """  # noqa: S608
    params = [[str(o) for o in SUCCESS_OUTCOMES], list(ids), since, max_calls]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            key: CallStats(
                calls=calls,
                successes=successes,
                p50_ms=float(p50) if p50 is not None else None,
                p95_ms=float(p95) if p95 is not None else None,
            )
            for key, calls, successes, p50, p95 in cursor.fetchall()
        }


def _stats_in_python(column, ids, since, max_calls) -> dict[int, CallStats]:
    rows = (
        SupplierCall.objects.filter(**{f"{column}__in": ids}, created_at__gte=since)
        .annotate(
            rn=Window(
                RowNumber(),
                partition_by=[F(column)],
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rn__lte=max_calls)
        .order_by()
        .values_list(column, "outcome", "latency_ms")
    )
    latencies: dict[int, list[int]] = defaultdict(list)
    successes: dict[int, int] = defaultdict(int)
    for key, outcome, latency in rows:
        latencies[key].append(latency)
        successes[key] += outcome in SUCCESS_OUTCOMES
    result = {}
    for key, values in latencies.items():
        values.sort()
        result[key] = CallStats(
            calls=len(values),
            successes=successes[key],
            p50_ms=percentile_cont(values, 0.5),
            p95_ms=percentile_cont(values, 0.95),
        )
    return result


def percentile_cont(ordered: list[int | float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont on an ascending list: linear interpolation
    between the two nearest ranks."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
