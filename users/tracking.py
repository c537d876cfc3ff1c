"""Behaviour tracking: logins, product views, shop searches, favourites.

A page records with one INSERT, inside a savepoint, and never fails because of
it: a write that fails is logged and dropped. Raw events older than
TRACKING_RETENTION_DAYS are counted per day (BehaviourDay) and deleted by the
daily roll-up (`roll_up_behaviour`).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext

from kameng.client_address import client_ip
from users.models import (
    Area,
    BehaviourDay,
    Favourite,
    LoginEvent,
    LoginMethod,
    ProductView,
    ShopSearch,
    User,
)

log = logging.getLogger(__name__)

QUERY_MAX = 100  # characters of a search kept
AGENT_MAX = 255
LOGIN_HISTORY_ROWS = 20


def mask_ip(ip: str | None) -> str:
    """An IP as lists show it: 203.0.113.7 → 203.0.*.*, 2001:db8::1 → 2001:db8:*."""
    if not ip:
        return "—"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "—"
    if address.version == 4:
        first, second, _third, _fourth = str(address).split(".")
        return f"{first}.{second}.*.*"
    groups = address.exploded.split(":")
    return f"{groups[0].lstrip('0') or '0'}:{groups[1].lstrip('0') or '0'}:*"


def area_of(request) -> str:
    return Area.BACK_OFFICE if request.path.startswith("/admin/") else Area.SHOP


def _safely(what: str, write: Callable[[], object]) -> bool:
    """Run one tracking write in a savepoint; a failure is logged, never raised."""
    try:
        with transaction.atomic():
            write()
    except DatabaseError:
        log.warning("tracking: %s not recorded", what, exc_info=True)
        return False
    return True


def record_login(
    *,
    request,
    user: User | None,
    username: str,
    success: bool,
    method: str = LoginMethod.PASSWORD,
) -> bool:
    """One attempt. A failure names the account it tried when one has that
    username, so its owner sees it in their login history."""
    agent = request.META.get("HTTP_USER_AGENT", "")[:AGENT_MAX]
    username = (username or "")[:150]

    def write():
        who = user
        if who is None and username:
            who = User.objects.filter(username=username).first()
        LoginEvent.objects.create(
            user=who,
            username=username,
            success=success,
            area=area_of(request),
            ip=client_ip(request),
            user_agent=agent,
            method=method,
        )

    return _safely("login", write)


@dataclass(frozen=True)
class LoginRow:
    """One line of a person's own login history, as their pages show it."""

    time: datetime
    success: bool
    area: str
    method: str
    address: str  # masked
    device: str


def login_history(*, user: User, limit: int = LOGIN_HISTORY_ROWS) -> list[LoginRow]:
    """The latest attempts on this account (successes and failures), newest
    first, one indexed query (users_login_user_idx)."""
    events = LoginEvent.objects.filter(user=user).order_by("-id")[:limit]
    return [
        LoginRow(
            time=event.created_at,
            success=event.success,
            area=event.get_area_display(),
            method=event.get_method_display(),
            address=mask_ip(event.ip),
            device=device_summary(event.user_agent),
        )
        for event in events
    ]


# (marker in the user agent, name shown), first match wins: order matters
# (Edge and WeChat say "Chrome" too, every Chrome says "Safari").
BROWSERS = (
    ("MicroMessenger", "WeChat"),
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
)
SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_summary(agent: str) -> str:
    """A user agent in a few words ("Chrome · Windows"), or "unknown device"."""
    browser = next((name for marker, name in BROWSERS if marker in agent), "")
    system = next((name for marker, name in SYSTEMS if marker in agent), "")
    summary = " · ".join(part for part in (browser, system) if part)
    return summary or gettext("Unknown device")


def record_product_view(*, user: User | None, product_id: int) -> bool:
    """A signed-in buyer's browse trail; guests are not tracked."""
    if user is None or not user.is_authenticated:
        return False
    return _safely(
        "product view",
        lambda: ProductView.objects.create(user=user, product_id=product_id),
    )


def record_search(*, user: User | None, query: str) -> bool:
    query = " ".join(query.split())[:QUERY_MAX]
    if not query:
        return False
    who = user if user is not None and user.is_authenticated else None
    return _safely("search", lambda: ShopSearch.objects.create(user=who, query=query))


def toggle_favourite(*, user: User, product_id: int) -> bool:
    """Heart on, or off if it was on. Returns whether it is a favourite now."""
    with transaction.atomic():
        deleted, _rows = Favourite.objects.filter(
            user=user, product_id=product_id
        ).delete()
        if deleted:
            return False
    try:
        with transaction.atomic():
            Favourite.objects.create(user=user, product_id=product_id)
    except IntegrityError:  # a double click's twin got there first
        pass
    return True


def _roll_up(queryset, kind_of: Callable[[dict], str]) -> int:
    rows = (
        queryset.annotate(day=TruncDate("created_at"))
        .values(
            "day", "user_id", *(["success"] if queryset.model is LoginEvent else [])
        )
        .annotate(n=Count("id"))
        .order_by()
    )
    days = [
        BehaviourDay(
            day=row["day"], user_id=row["user_id"], kind=kind_of(row), count=row["n"]
        )
        for row in rows
    ]
    BehaviourDay.objects.bulk_create(days, batch_size=1000)
    queryset.delete()
    return len(days)


@transaction.atomic
def roll_up_behaviour(*, now=None, retention_days: int | None = None) -> dict[str, int]:
    """Count raw events older than the retention per day, user and kind, then
    delete them. Run again, it finds nothing left to count."""
    days = (
        settings.TRACKING_RETENTION_DAYS if retention_days is None else retention_days
    )
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return {
        "logins": _roll_up(
            LoginEvent.objects.filter(created_at__lt=cutoff),
            lambda row: (
                BehaviourDay.Kind.LOGIN
                if row["success"]
                else BehaviourDay.Kind.LOGIN_FAILED
            ),
        ),
        "views": _roll_up(
            ProductView.objects.filter(created_at__lt=cutoff),
            lambda row: BehaviourDay.Kind.VIEW,
        ),
        "searches": _roll_up(
            ShopSearch.objects.filter(created_at__lt=cutoff),
            lambda row: BehaviourDay.Kind.SEARCH,
        ),
    }
