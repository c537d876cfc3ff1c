"""Automatic coupon campaigns: signup gift, first-order reward, birthday gift,
monthly coupon and win-back. Each is one CouponCampaign row (on/off and the
template marketing chose); nothing is issued while the row is off, has no
template, or the coupons module is switched off.

Each campaign is idempotent through its issue key (one coupon of a template
per buyer per key):
- signup gift            "signup"              (user_registered)
- first-order reward     "first_order"         (order_paid, the first paid order)
- birthday gift          "birthday:<year>"     (daily; level with birthday_gift)
- monthly coupon         "monthly:<yyyy-mm>"   (daily; level with monthly_coupon)
- win-back               "winback:<last order day>"  (daily; dormant N days)
The daily ones run from beat (marketing.run_coupon_campaigns) and may run as
often as anyone likes. Win-back is keyed by the day of the buyer's last paid
order: one coupon per dormant spell, a new one after the buyer buys again and
falls dormant again. Its window is the N days after a buyer turns dormant, so
a beat that missed days still catches them and long-lost buyers are not all
mailed at once when the campaign is switched on.
"""

from __future__ import annotations

import calendar
import logging
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from kameng.compiled import CompiledRead
from kameng.exceptions import DomainError
from kameng.migrating import is_last_post_migrate
from kameng.modules import is_enabled
from kameng.process_cache import Stamped
from marketing.issuing import MODULE, issue_in_chunks
from marketing.models import Coupon, CouponCampaign
from marketing.segments import buyers
from users.models import BuyerStats, User

K = CouponCampaign.Kind
logger = logging.getLogger(__name__)


def ensure_campaigns() -> int:
    """One row per campaign kind, switched off; returns how many were made."""
    made = 0
    for kind in K.values:
        _campaign, created = CouponCampaign.objects.get_or_create(kind=kind)
        made += created
    return made


def ensure_campaigns_after_migrate(sender, **kwargs) -> None:
    if is_last_post_migrate(sender):
        ensure_campaigns()


def _read_active() -> dict[str, CouponCampaign]:
    return {
        campaign.kind: campaign
        for campaign in CouponCampaign.objects.select_related("template").filter(
            enabled=True, template__active=True
        )
    }


# Every paid order asks for the first-order campaign: the campaigns that are
# on are kept per process, read again after a campaign or a coupon template
# is saved or deleted (marketing.signals) or `campaigns_changed()`.
ACTIVE = Stamped("marketing:coupon-campaigns", _read_active)


def campaigns_changed() -> None:
    """Campaigns or templates changed without the ORM's save (an update())."""
    ACTIVE.changed()


def active_campaign(kind: str) -> CouponCampaign | None:
    """The campaign if it is on, has an active template and the module is on.
    This process's copy, template loaded: read it, never save it."""
    if not is_enabled(MODULE):
        return None
    return ACTIVE.get().get(kind)


@transaction.atomic
def save_campaign(
    *, campaign: CouponCampaign, actor: User | None = None
) -> CouponCampaign:
    campaign.full_clean()
    campaign.changed_by = actor if getattr(actor, "pk", None) else None
    campaign.save()
    return campaign


def _issue(campaign: CouponCampaign, ids, *, source: str, issue_key: str) -> int:
    """Issue the campaign's coupon; a template that expired or ran out is
    logged, never raised (a receiver must not break the order that paid)."""
    try:
        _processed, issued = issue_in_chunks(
            template=campaign.template,
            ids=ids.values_list("pk", flat=True),
            source=source,
            issue_key=issue_key,
        )
    except DomainError as exc:
        logger.warning("campaign %s issued nothing: %s", campaign.kind, exc.message)
        return 0
    return issued


# --- on events ------------------------------------------------------------


def give_signup_gift(*, user_id: int) -> int:
    campaign = active_campaign(K.SIGNUP)
    if campaign is None:
        return 0
    return _issue(
        campaign,
        buyers().filter(pk=user_id),
        source=Coupon.Source.SIGNUP,
        issue_key="signup",
    )


# The buyer's paid-order count alone, compiled once per process: on most
# orders it is not 1 and the first-order reward stops there. The mark is a
# user id no one has.
_PAID_ORDERS = CompiledRead(
    BuyerStats,
    lambda user_id: BuyerStats.objects.filter(user_id=user_id).only(
        "user_id", "order_count"
    ),
    -7_021_944_219,
)


def give_first_order_reward(*, buyer_id: int) -> int:
    """On order_paid. The buyer's paid-order count is users' (BuyerStats, moved
    by users' receiver of the same signal, which runs first: users is
    installed before marketing): 1 means this was the first paid order. The
    issue key keeps a repeated event from giving a second coupon."""
    campaign = active_campaign(K.FIRST_ORDER)
    if campaign is None:
        return 0
    stats = _PAID_ORDERS.first(buyer_id)
    if stats is None or stats.order_count != 1:
        return 0  # what `first` below would find: nobody
    first = buyers().filter(pk=buyer_id, stats__order_count=1)
    return _issue(
        campaign, first, source=Coupon.Source.FIRST_ORDER, issue_key="first_order"
    )


# --- daily ----------------------------------------------------------------


def birthday_filter(today: date) -> Q:
    """Born on today's month and day; on 28 February of a common year, the
    buyers born on 29 February too."""
    born = Q(birthday__month=today.month, birthday__day=today.day)
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        born |= Q(birthday__month=2, birthday__day=29)
    return born


def give_birthday_gifts(*, today: date | None = None) -> int:
    today = today or timezone.localdate()
    campaign = active_campaign(K.BIRTHDAY)
    if campaign is None:
        return 0
    members = buyers().filter(birthday_filter(today), member_level__birthday_gift=True)
    return _issue(
        campaign,
        members,
        source=Coupon.Source.BIRTHDAY,
        issue_key=f"birthday:{today.year}",
    )


def give_monthly_coupons(*, today: date | None = None) -> int:
    today = today or timezone.localdate()
    campaign = active_campaign(K.MONTHLY)
    if campaign is None:
        return 0
    members = buyers().filter(member_level__monthly_coupon=True)
    return _issue(
        campaign,
        members,
        source=Coupon.Source.MONTHLY,
        issue_key=f"monthly:{today:%Y-%m}",
    )


def winback_window(*, now: datetime, days: int) -> tuple[datetime, datetime]:
    """Last paid order in [now - 2·days, now - days): dormant for `days`, for
    at most `days` more."""
    return now - timedelta(days=2 * days), now - timedelta(days=days)


def give_winback_coupons(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    campaign = active_campaign(K.WINBACK)
    if campaign is None:
        return 0
    since, until = winback_window(now=now, days=campaign.dormant_days)
    dormant = BuyerStats.objects.filter(
        order_count__gt=0, last_order_at__gte=since, last_order_at__lt=until
    )
    days = (
        dormant.annotate(day=TruncDate("last_order_at"))
        .values_list("day", flat=True)
        .distinct()
        .order_by("day")
    )
    issued = 0
    for day in days:
        start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
        members = buyers().filter(
            stats__order_count__gt=0,
            stats__last_order_at__gte=max(start, since),
            stats__last_order_at__lt=min(start + timedelta(days=1), until),
        )
        issued += _issue(
            campaign,
            members,
            source=Coupon.Source.WINBACK,
            issue_key=f"winback:{day:%Y-%m-%d}",
        )
    return issued


def run_campaigns(*, now: datetime | None = None) -> dict[str, int]:
    """The daily pass (beat): birthday, monthly and win-back coupons."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    return {
        "birthday": give_birthday_gifts(today=today),
        "monthly": give_monthly_coupons(today=today),
        "winback": give_winback_coupons(now=now),
    }
