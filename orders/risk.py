"""Risk: buyers flagged for frequent after-sales, the checkout blacklist, and
orders held for review. The one place these rules live.

- A buyer with more than settings.RISK_AFTER_SALES_LIMIT refunds + reissues in
  the last settings.RISK_WINDOW_DAYS days is flagged: a users.RiskFlag row
  exists while they are. `recount_buyer` keeps it after each refund or reissue;
  `recount_all` runs nightly (flags age out of the window). Pages read the flag
  with `flag_for` / `flags_for` (no query per row).
- `refuse_if_blacklisted` is the checkout entry's one check: one query on the
  blacklist's unique (kind, value_index) index for the account, contact, IP
  address and recharge account (values are encrypted at rest and matched by
  their keyed digest, `BlacklistEntry.digest`, however they were typed); a hit
  raises CheckoutRefused with a clear message.
- `hold_for_review` runs where a paid order would be delivered: a flagged
  buyer's order moves to HELD instead and waits for staff (orders.review
  releases or refuses it).

Builds on orders.transitions only (refunds, after-sales, fulfilment and checkout
call it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.exceptions import CheckoutRefused
from orders.models import BlacklistEntry, Order, OrderEvent, RefundRequest, Ticket
from orders.transitions import transition_order
from users.models import RiskFlag

S = Order.Status
Kind = BlacklistEntry.Kind


# Flags ---------------------------------------------------------------------------
def window_start(now=None):
    return (now or timezone.now()) - timedelta(days=settings.RISK_WINDOW_DAYS)


def after_sales_refunds():
    """Refunds that count against a buyer: money given back on an order that
    had been delivered (not a failed top-up's or a refused hold's refund)."""
    return RefundRequest.objects.filter(
        status=RefundRequest.Status.REFUNDED, order__delivered_at__isnull=False
    )


def is_over_limit(*, refunds: int, reissues: int) -> bool:
    return refunds + reissues > settings.RISK_AFTER_SALES_LIMIT


def _apply(counts: dict[int, tuple[int, int]], *, buyer_ids: Iterable[int]) -> None:
    """Flag the buyers of `buyer_ids` over the limit, unflag the others."""
    over = {
        buyer_id: pair
        for buyer_id, pair in counts.items()
        if is_over_limit(refunds=pair[0], reissues=pair[1])
    }
    RiskFlag.objects.filter(user_id__in=set(buyer_ids) - set(over)).delete()
    flags = list(RiskFlag.objects.filter(user_id__in=over))
    now = timezone.now()
    for flag in flags:
        flag.refunds, flag.reissues = over[flag.user_id]
        flag.updated_at = now
    RiskFlag.objects.bulk_update(flags, ["refunds", "reissues", "updated_at"])
    existing = {flag.user_id for flag in flags}
    RiskFlag.objects.bulk_create(
        [
            RiskFlag(user_id=buyer_id, refunds=refunds, reissues=reissues)
            for buyer_id, (refunds, reissues) in over.items()
            if buyer_id not in existing
        ],
        ignore_conflicts=True,
    )


def _counts(*, buyer_ids: Iterable[int] | None, since) -> dict[int, tuple[int, int]]:
    refunds = after_sales_refunds().filter(created_at__gte=since)
    reissues = Ticket.objects.filter(kind=Ticket.Kind.REISSUE, created_at__gte=since)
    if buyer_ids is not None:
        refunds = refunds.filter(order__buyer_id__in=buyer_ids)
        reissues = reissues.filter(buyer_id__in=buyer_ids)
    counts: dict[int, list[int]] = {}
    for row in (
        refunds.filter(order__buyer__isnull=False)
        .values("order__buyer_id")
        .annotate(n=Count("id"))
    ):
        counts.setdefault(row["order__buyer_id"], [0, 0])[0] = row["n"]
    for row in (
        reissues.filter(buyer__isnull=False).values("buyer_id").annotate(n=Count("id"))
    ):
        counts.setdefault(row["buyer_id"], [0, 0])[1] = row["n"]
    return {buyer_id: (pair[0], pair[1]) for buyer_id, pair in counts.items()}


@transaction.atomic
def recount_buyer(*, buyer_id: int | None) -> RiskFlag | None:
    """Count one buyer's after-sales in the window and flag or unflag them
    (called after a refund is paid and a reissue is asked for)."""
    if buyer_id is None:
        return None
    _apply(_counts(buyer_ids=[buyer_id], since=window_start()), buyer_ids=[buyer_id])
    return RiskFlag.objects.filter(user_id=buyer_id).first()


@transaction.atomic
def recount_all() -> int:
    """Nightly: recount every buyer with after-sales in the window, and unflag
    those whose after-sales have aged out. Returns how many are flagged."""
    counts = _counts(buyer_ids=None, since=window_start())
    flagged_before = set(RiskFlag.objects.values_list("user_id", flat=True))
    _apply(counts, buyer_ids=set(counts) | flagged_before)
    return RiskFlag.objects.count()


def flag_for(buyer) -> RiskFlag | None:
    """The buyer's risk flag, or None (guests and unflagged buyers)."""
    if buyer is None or getattr(buyer, "pk", None) is None:
        return None
    return RiskFlag.objects.filter(user_id=buyer.pk).first()


def flags_for(buyer_ids: Iterable[int | None]) -> dict[int, RiskFlag]:
    """Risk flags of many buyers in one query: {buyer id: flag}, flagged only."""
    wanted = {pk for pk in buyer_ids if pk is not None}
    if not wanted:
        return {}
    return {flag.user_id: flag for flag in RiskFlag.objects.filter(user_id__in=wanted)}


# Blacklist -------------------------------------------------------------------------
def normalise(kind: str, value: str) -> str:
    """How a blacklist value is stored and compared (BlacklistEntry.normalised):
    a phone number's digits without +86, an e-mail lower-cased, everything
    case-blind; an IP address in its canonical form."""
    return BlacklistEntry.normalised(kind, value)


def _digests(kind: str, values: Iterable) -> list[str]:
    found = set()
    for value in values:
        if isinstance(value, str | int) and str(value).strip():
            digest = BlacklistEntry.digest(kind, value)
            if digest:
                found.add(digest)
    return sorted(found)


Wanted = list[tuple[str, list[str]]]  # (kind, the keyed digests of its values)


def blacklist_wanted(
    *,
    buyer=None,
    contact: str = "",
    ip: str = "",
    recharge_account: dict | None = None,
) -> Wanted:
    """What a checkout looks up in the blacklist: each kind with the keyed
    digests of its normalised values (the column itself holds tokens)."""
    wanted: Wanted = []
    if buyer is not None and getattr(buyer, "username", ""):
        wanted.append(
            (Kind.ACCOUNT, [BlacklistEntry.digest(Kind.ACCOUNT, buyer.username)])
        )
    contacts = [contact, getattr(buyer, "email", ""), getattr(buyer, "phone", "")]
    if digests := _digests(Kind.CONTACT, contacts):
        wanted.append((Kind.CONTACT, digests))
    if ip and (digest := BlacklistEntry.digest(Kind.IP, ip)):
        wanted.append((Kind.IP, [digest]))
    accounts = (recharge_account or {}).values()
    if digests := _digests(Kind.RECHARGE_ACCOUNT, accounts):
        wanted.append((Kind.RECHARGE_ACCOUNT, digests))
    return wanted


def blacklist_hit(
    *,
    buyer=None,
    contact: str = "",
    ip: str = "",
    recharge_account: dict | None = None,
) -> BlacklistEntry | None:
    """The active blacklist entry matching any of these, or None: one query on
    the (kind, value_index) index."""
    wanted = blacklist_wanted(
        buyer=buyer, contact=contact, ip=ip, recharge_account=recharge_account
    )
    if not wanted:
        return None
    sql, params = newest_active_entry_sql(wanted)
    return next(iter(BlacklistEntry.objects.raw(sql, params)), None)


def newest_active_entry_sql(
    wanted: Wanted, *, only_kind: bool = False
) -> tuple[str, list]:
    """The newest active entry of any (kind, digest) pair, as
    `BlacklistEntry.objects.filter(<pairs>, active=True).first()` reads it, in
    one hand-written statement (names from model metadata): every buy POST
    asks, and building and compiling the ORM's query cost more CPU than the
    rest of the check (issue 12). `only_kind`: its kind alone (orders.sale_sql
    asks it inside the wallet debit's statement)."""
    meta = BlacklistEntry._meta
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return quote(meta.get_field(name).column)

    kind, index = column("kind"), column("value_index")
    pairs, params = [], []
    for entry_kind, digests in wanted:
        marks = ", ".join(["%s"] * len(digests))
        pairs.append(f"({kind} = %s AND {index} IN ({marks}))")
        params += [str(entry_kind), *digests]
    selected = kind if only_kind else "*"
    sql = (
        f"SELECT {selected} FROM {quote(meta.db_table)} "
        f"WHERE {column('active')} = %s AND ({' OR '.join(pairs)}) "
        f"ORDER BY {quote(meta.pk.column)} DESC LIMIT 1"
    )
    return sql, [True, *params]


BLACKLIST_MESSAGES = {
    Kind.ACCOUNT: gettext_lazy(
        "This account may not place orders. Please contact customer service."
    ),
    Kind.CONTACT: gettext_lazy(
        "This email or phone number may not place orders. Please contact "
        "customer service."
    ),
    Kind.IP: gettext_lazy(
        "Orders from your network are not accepted. Please contact customer service."
    ),
    Kind.RECHARGE_ACCOUNT: gettext_lazy(
        "This recharge account may not be topped up here. Please contact "
        "customer service."
    ),
}


def blocking_kind(wanted: Wanted) -> str | None:
    """The kind of the newest active entry among `wanted` (blacklist_wanted),
    or None: one statement."""
    if not wanted:
        return None
    sql, params = newest_active_entry_sql(wanted, only_kind=True)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def refuse_if_blacklisted(
    *,
    buyer=None,
    contact: str = "",
    ip: str = "",
    recharge_account: dict | None = None,
) -> None:
    """The checkout entry's check: raise CheckoutRefused (its message says
    what is blocked, never the staff's reason) when anything is blacklisted."""
    hit = blacklist_hit(
        buyer=buyer, contact=contact, ip=ip, recharge_account=recharge_account
    )
    if hit is not None:
        raise blacklist_refusal(hit.kind)


def blacklist_refusal(kind: str) -> CheckoutRefused:
    """What a buyer is told when an entry of `kind` blocks the checkout: what is
    blocked, never the staff's reason."""
    return CheckoutRefused(str(BLACKLIST_MESSAGES[kind]), blacklist=kind)


@transaction.atomic
def add_to_blacklist(*, kind: str, value: str, reason: str, actor) -> BlacklistEntry:
    """Block `value` of `kind` (stored normalised, encrypted); an existing
    entry for the same value, however it was typed, is switched on again with
    the new reason."""
    value, reason = normalise(kind, value), reason.strip()
    if not value:
        raise CheckoutRefused(_("Give the value to block."))
    if not reason:
        raise CheckoutRefused(_("Say why it is blocked."))
    entry, _created = BlacklistEntry.objects.update_or_create(
        kind=kind,
        value_index=BlacklistEntry.digest(kind, value),
        defaults={
            "value": value,
            "reason": reason[:300],
            "active": True,
            "created_by": actor,
        },
    )
    return entry


# Holds -----------------------------------------------------------------------------
def hold_for_review(*, order: Order, actor=None) -> bool:
    """Inside the paying transaction, before delivery: a flagged buyer's order
    is held (PAID → HELD) and nothing is delivered; True when held. An order
    staff released once is not held again."""
    if not settings.RISK_HOLD_FLAGGED_ORDERS or order.buyer_id is None:
        return False
    flag = RiskFlag.objects.filter(user_id=order.buyer_id).first()
    if flag is None or order.status != S.PAID:
        return False
    if OrderEvent.objects.filter(order=order, from_status=S.HELD).exists():
        return False
    transition_order(order=order, to=S.HELD, actor=actor, reason=flag.label)
    return True


def held_orders():
    """Orders waiting for a risk review, oldest first."""
    return Order.objects.filter(status=S.HELD).order_by("id")
