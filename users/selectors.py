from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Sum
from django.db.models.functions import ExtractHour
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from users.models import (
    ZERO,
    BuyerStats,
    Favourite,
    LedgerEntry,
    LevelChange,
    LoginEvent,
    MemberLevel,
    ProductView,
    User,
    Wallet,
)
from users.roles import ROLES


def staff_by_role() -> list[dict]:
    counts = dict(
        User.objects.filter(is_active=True, groups__isnull=False)
        .values_list("groups__name")
        .annotate(n=Count("id"))
    )
    return [
        {"label": r.group_name, "value": counts.get(r.group_name, 0)} for r in ROLES
    ]


ACTIVE_DAYS = 30
# The home page's whole-shop buyer figures count up to millions of rows (1.0 s
# at 1,000,000 buyers): they are kept in the cache this long, shared by every
# process and every manager opening the home page.
BUYER_FIGURES_KEY = "users:buyer-figures"
BUYER_FIGURES_SECONDS = 60


def count_buyers() -> dict:
    """{"buyers", "active", "wallets"}: every buyer; those who paid an order in
    the last ACTIVE_DAYS days (not "account enabled", which every buyer is);
    the sum of all wallet balances."""
    active = (
        BuyerStats.objects.filter(
            last_order_at__gte=timezone.now() - timedelta(days=ACTIVE_DAYS)
        )
        # Staff excluded by an anti-join on their own few ids (a partial
        # index), not by joining every buyer's row.
        .exclude(Exists(User.objects.filter(pk=OuterRef("user_id"), is_staff=True)))
        .count()
    )
    return {
        "buyers": User.objects.filter(is_staff=False).count(),  # partial index
        "active": active,
        "wallets": Wallet.objects.aggregate(total=Sum("balance"))["total"] or 0,
    }


def forget_buyer_figures() -> None:
    cache.delete(BUYER_FIGURES_KEY)


def buyer_figures(*, user) -> list[dict]:
    """The home page's buyer figures, at most BUYER_FIGURES_SECONDS old."""
    counts = cache.get_or_set(BUYER_FIGURES_KEY, count_buyers, BUYER_FIGURES_SECONDS)
    figures = [
        {"label": _("Buyers"), "value": counts["buyers"]},
        {"label": _("Active buyers (paid in 30 days)"), "value": counts["active"]},
    ]
    if user.has_perm("users.view_wallet"):
        figures.append(
            {"label": _("Wallet balances"), "value": counts["wallets"], "money": True}
        )
    return figures


PROFILE_ROWS = 20  # rows of each history list on the customer profile


@dataclass
class BuyerProfile:
    """What the users app knows of one buyer, read in a fixed number of queries."""

    user: User
    stats: BuyerStats | None
    next_level: MemberLevel | None
    level_changes: list[LevelChange]
    logins: list[LoginEvent]
    views: list[ProductView]
    favourites: list[Favourite]
    wallet: Wallet | None
    ledger: list[LedgerEntry]
    hours: list[int]  # logins and product views per hour of day, 0..23

    @property
    def growth(self) -> Decimal:
        return self.stats.growth if self.stats else ZERO

    @property
    def to_next_level(self) -> Decimal | None:
        if self.next_level is None:
            return None
        return max(ZERO, self.next_level.growth_threshold - self.growth)

    @property
    def preferred_payment(self) -> str:
        """ "wallet", "gateway" or "" (no paid order yet, or a tie)."""
        if self.stats is None:
            return ""
        wallet, gateway = self.stats.wallet_payments, self.stats.gateway_payments
        return "wallet" if wallet > gateway else "gateway" if gateway > wallet else ""


def _hour_counts(queryset) -> dict[int, int]:
    rows = (
        queryset.annotate(hour=ExtractHour("created_at"))
        .values("hour")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["hour"]: row["n"] for row in rows}


def buyer_profile(*, user_id: int, with_money: bool) -> BuyerProfile:
    """A buyer's level, growth, histories and active hours. Raises
    User.DoesNotExist for an unknown id or a staff account. `with_money` adds the
    wallet and its recent ledger (for those who may see wallets)."""
    user = (
        User.objects.filter(is_staff=False)
        .select_related("member_level", "stats")
        .get(pk=user_id)
    )
    stats = getattr(user, "stats", None)
    growth = stats.growth if stats else ZERO
    next_level = (
        MemberLevel.objects.filter(growth_threshold__gt=growth)
        .order_by("growth_threshold", "rank", "id")
        .first()
    )
    wallet = ledger = None
    if with_money:
        wallet = Wallet.objects.filter(user_id=user_id).first()
        ledger = list(
            LedgerEntry.objects.filter(wallet__user_id=user_id).order_by("-id")[
                :PROFILE_ROWS
            ]
        )
    logins = LoginEvent.objects.filter(user_id=user_id)
    views = ProductView.objects.filter(user_id=user_id)
    counts = _hour_counts(logins.filter(success=True))
    for hour, n in _hour_counts(views).items():
        counts[hour] = counts.get(hour, 0) + n
    return BuyerProfile(
        user=user,
        stats=stats,
        next_level=next_level,
        level_changes=list(
            LevelChange.objects.filter(user_id=user_id)
            .select_related("from_level", "to_level")
            .order_by("-id")[:PROFILE_ROWS]
        ),
        logins=list(logins.order_by("-id")[:PROFILE_ROWS]),
        views=list(views.order_by("-id")[:PROFILE_ROWS]),
        favourites=list(
            Favourite.objects.filter(user_id=user_id).order_by("-id")[:PROFILE_ROWS]
        ),
        wallet=wallet,
        ledger=ledger or [],
        hours=[counts.get(hour, 0) for hour in range(24)],
    )


def favourite_product_ids(*, user: User, limit: int = 100) -> list[int]:
    return list(
        Favourite.objects.filter(user=user)
        .order_by("-id")
        .values_list("product_id", flat=True)[:limit]
    )


def is_favourite(*, user: User, product_id: int) -> bool:
    if not user.is_authenticated:
        return False
    return Favourite.objects.filter(user=user, product_id=product_id).exists()
