"""Who is in a segment: one queryset per rule, used by the preview page, the
nightly refresh (as the SELECT of one INSERT … SELECT) and the tests alike.

Built-in rules:
- high value: monetary score 5 (the top fifth by net spend);
- low frequency: has bought, frequency score 1 or 2;
- would-be buyers: viewed or favourited a product within SEGMENT_WOULD_BE_DAYS
  and never paid for an order;
- dormant: has bought, but not within SEGMENT_DORMANT_DAYS;
- new: registered within SEGMENT_NEW_DAYS.
An operator's segment is the conjunction of the filters it sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from marketing.models import CategoryPurchase, Segment
from users.models import Favourite, ProductView, User

HIGH_VALUE_MIN_MONETARY = 5
LOW_FREQUENCY_MAX_FREQUENCY = 2

B = Segment.Builtin


def buyers() -> QuerySet[User]:
    """Every active buyer (staff are never in a segment)."""
    return User.objects.filter(is_staff=False, is_active=True)


def never_bought() -> Q:
    return Q(stats__isnull=True) | Q(stats__order_count=0)


def builtin_buyers(code: str, *, now: datetime | None = None) -> QuerySet[User]:
    now = now or timezone.now()
    if code == B.HIGH_VALUE:
        return buyers().filter(rfm__monetary__gte=HIGH_VALUE_MIN_MONETARY)
    if code == B.LOW_FREQUENCY:
        return buyers().filter(rfm__frequency__lte=LOW_FREQUENCY_MAX_FREQUENCY)
    if code == B.WOULD_BE:
        since = now - timedelta(days=settings.SEGMENT_WOULD_BE_DAYS)
        viewed = ProductView.objects.filter(user=OuterRef("pk"), created_at__gte=since)
        hearted = Favourite.objects.filter(user=OuterRef("pk"), created_at__gte=since)
        return buyers().filter(Exists(viewed) | Exists(hearted)).filter(never_bought())
    if code == B.DORMANT:
        since = now - timedelta(days=settings.SEGMENT_DORMANT_DAYS)
        return buyers().filter(stats__order_count__gt=0, stats__last_order_at__lt=since)
    if code == B.NEW:
        since = now - timedelta(days=settings.SEGMENT_NEW_DAYS)
        return buyers().filter(date_joined__gte=since)
    raise ValueError(f"no built-in segment {code!r}")


@dataclass(frozen=True)
class SegmentFilters:
    """An operator's filters; None (or empty) means “any”."""

    level_ids: tuple[int, ...] = ()
    min_spent: Decimal | None = None
    max_spent: Decimal | None = None
    ordered_within_days: int | None = None
    not_ordered_for_days: int | None = None
    category_ids: tuple[int, ...] = ()
    registered_from: date | None = None
    registered_to: date | None = None
    recency_min: int | None = None
    recency_max: int | None = None
    frequency_min: int | None = None
    frequency_max: int | None = None
    monetary_min: int | None = None
    monetary_max: int | None = None

    SCALARS = (
        "min_spent",
        "max_spent",
        "ordered_within_days",
        "not_ordered_for_days",
        "registered_from",
        "registered_to",
        "recency_min",
        "recency_max",
        "frequency_min",
        "frequency_max",
        "monetary_min",
        "monetary_max",
    )

    @classmethod
    def from_values(cls, values: dict, *, levels=(), categories=()) -> SegmentFilters:
        """From a form's cleaned data or a segment's fields (levels and
        categories as objects or ids)."""
        return cls(
            level_ids=tuple(getattr(x, "pk", x) for x in levels),
            category_ids=tuple(getattr(x, "pk", x) for x in categories),
            **{name: values.get(name) for name in cls.SCALARS},
        )

    @classmethod
    def of(cls, segment: Segment) -> SegmentFilters:
        return cls.from_values(
            {name: getattr(segment, name) for name in cls.SCALARS},
            levels=segment.levels.values_list("pk", flat=True),
            categories=segment.categories.values_list("pk", flat=True),
        )


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered_buyers(
    filters: SegmentFilters, *, now: datetime | None = None
) -> QuerySet[User]:
    now = now or timezone.now()
    qs = buyers()
    if filters.level_ids:
        qs = qs.filter(member_level_id__in=filters.level_ids)
    if filters.min_spent is not None:
        qs = qs.filter(stats__total_spent__gte=filters.min_spent)
    if filters.max_spent is not None:
        qs = qs.filter(
            Q(stats__total_spent__lte=filters.max_spent) | Q(stats__isnull=True)
        )
    if filters.ordered_within_days is not None:
        since = now - timedelta(days=filters.ordered_within_days)
        qs = qs.filter(stats__last_order_at__gte=since)
    if filters.not_ordered_for_days is not None:
        since = now - timedelta(days=filters.not_ordered_for_days)
        qs = qs.filter(stats__order_count__gt=0, stats__last_order_at__lt=since)
    if filters.category_ids:
        bought = CategoryPurchase.objects.filter(
            user=OuterRef("pk"), category_id__in=filters.category_ids
        )
        qs = qs.filter(Exists(bought))
    if filters.registered_from is not None:
        qs = qs.filter(date_joined__gte=_start_of(filters.registered_from))
    if filters.registered_to is not None:
        qs = qs.filter(
            date_joined__lt=_start_of(filters.registered_to + timedelta(days=1))
        )
    for score in ("recency", "frequency", "monetary"):
        low = getattr(filters, f"{score}_min")
        high = getattr(filters, f"{score}_max")
        if low is not None:
            qs = qs.filter(**{f"rfm__{score}__gte": low})
        if high is not None:
            qs = qs.filter(**{f"rfm__{score}__lte": high})
    return qs


def segment_buyers(segment: Segment, *, now: datetime | None = None) -> QuerySet[User]:
    if segment.builtin:
        return builtin_buyers(segment.builtin, now=now)
    return filtered_buyers(SegmentFilters.of(segment), now=now)
