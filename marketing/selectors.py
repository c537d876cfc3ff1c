"""Reads of segments and strategies for pages and for the apps above marketing
(orders: the customer profile, ticket priority, storefront recommendations)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from marketing.models import (
    PrioritySupport,
    PromotedProduct,
    RfmScore,
    Segment,
    SegmentMember,
)
from marketing.segments import SegmentFilters, filtered_buyers
from users.models import User

PREVIEW_ROWS = 50


@dataclass
class SegmentPreview:
    size: int
    members: list[User]


def preview_segment(
    filters: SegmentFilters, *, rows: int = PREVIEW_ROWS
) -> SegmentPreview:
    """How many buyers an (unsaved) segment's filters find, and the first of them."""
    found = filtered_buyers(filters)
    members = list(found.select_related("member_level", "stats").order_by("-id")[:rows])
    return SegmentPreview(size=found.count(), members=members)


def segments_of(*, user_id: int) -> list[Segment]:
    """The segments a buyer is in, as of their last refresh."""
    return list(
        Segment.objects.filter(members__user_id=user_id).order_by("-builtin", "name")
    )


def rfm_of(*, user_id: int) -> RfmScore | None:
    return RfmScore.objects.filter(user_id=user_id).first()


def segment_members(*, segment: Segment) -> QuerySet[SegmentMember]:
    return SegmentMember.objects.filter(segment=segment).select_related(
        "user__member_level", "user__stats"
    )


def has_priority_support(*, user_id: int, today: date | None = None) -> bool:
    """A strategy gave this buyer priority support that has not expired."""
    today = today or timezone.localdate()
    return PrioritySupport.objects.filter(
        user_id=user_id, expires_on__gte=today
    ).exists()


def promoted_product_ids(
    *, user_id: int, today: date | None = None, limit: int = 12
) -> list[int]:
    """Products strategies recommend to this buyer now, newest first."""
    today = today or timezone.localdate()
    return list(
        PromotedProduct.objects.filter(user_id=user_id, expires_on__gte=today)
        .order_by("-promoted_on", "-id")
        .values_list("product_id", flat=True)[:limit]
    )
