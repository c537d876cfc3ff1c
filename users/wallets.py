"""The wallet in the back office: a buyer's ledger with filters, manual
adjustments by finance, and the check that every balance equals its ledger.

- `adjust_wallet`: only with users.adjust_wallet, always with a reason, recorded
  as an ADJUSTMENT ledger row naming the actor; the form's key makes a double
  click adjust once.
- `ledger_rows`: a page of one wallet's ledger, newest first, filtered by kind,
  date range and amount, read by keyset (never a COUNT).
- `check_ledgers`: one set-based query finds every wallet whose balance differs
  from the sum of its ledger; each opens a LedgerAlert (one open per wallet),
  mailed once to the finance role and listed in the back office; alerts of
  wallets that agree again are resolved.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import DecimalField, F, Sum, Value
from django.db.models.functions import Abs, Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from kameng import audit
from users.exceptions import WalletRefused
from users.models import LedgerAlert, LedgerEntry, User, Wallet
from users.roles import ROLE_BY_CODE
from users.services import change_balance, get_or_create_wallet

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
FEN = Decimal("0.01")
HALF_FEN = Decimal("0.005")
ADJUST_PERMISSION = "users.adjust_wallet"
ADJUSTMENT_PREFIX = "ADJ-"
LEDGER_PAGE_SIZE = 50


# Adjustments ---------------------------------------------------------------------
def adjustment_reference(key: uuid.UUID) -> str:
    return f"{ADJUSTMENT_PREFIX}{key.hex}"


@transaction.atomic
def adjust_wallet(
    *, user: User, amount: Decimal, reason: str, actor: User, key: uuid.UUID
) -> LedgerEntry:
    """Finance adds (or, negative, takes) `amount` on `user`'s wallet for
    `reason`. Refused without users.adjust_wallet or a reason, or below zero.
    The same `key` again returns the first row and changes nothing."""
    if not actor.has_perm(ADJUST_PERMISSION):
        raise WalletRefused(_("Only finance may adjust wallet balances."))
    reason = reason.strip()
    if not reason:
        raise WalletRefused(_("An adjustment needs a reason."), field="reason")
    if user.is_staff:
        raise WalletRefused(_("Only buyers' wallets are adjusted."))
    get_or_create_wallet(user=user)
    wallet = Wallet.objects.select_for_update().get(user=user)  # a 2nd click waits
    reference = adjustment_reference(key)
    done = LedgerEntry.objects.filter(
        wallet=wallet, kind=LedgerEntry.Kind.ADJUSTMENT, reference=reference
    ).first()
    if done is not None:
        return done
    before = wallet.balance
    entry = change_balance(
        user=user,
        amount=amount,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        reference=reference,
        note=reason[:255],
        actor=actor,
    )
    audit.record(
        actor=actor,
        action="wallet.adjust",
        obj=wallet,
        before={"balance": before},
        after={"balance": entry.balance_after},
        note=reason,
    )
    return entry


# The ledger page -----------------------------------------------------------------
@dataclass(frozen=True)
class LedgerFilter:
    kind: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    amount_min: Decimal | None = None  # of the amount's size, credit or debit
    amount_max: Decimal | None = None
    before: int | None = None  # keyset: rows older than this id


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def ledger_rows(
    *, wallet: Wallet, filters: LedgerFilter, size: int = LEDGER_PAGE_SIZE
) -> tuple[list[LedgerEntry], int | None]:
    """One page of the wallet's ledger, newest first, and the id to continue
    from (None on the last page): size + 1 rows read, never a COUNT. Walks the
    (wallet, -id) index."""
    rows = LedgerEntry.objects.filter(wallet=wallet).select_related("actor")
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.date_from:
        rows = rows.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        next_day = filters.date_to + datetime.timedelta(days=1)
        rows = rows.filter(created_at__lt=_day_start(next_day))
    if filters.amount_min is not None or filters.amount_max is not None:
        rows = rows.annotate(size=Abs("amount"))
        if filters.amount_min is not None:
            rows = rows.filter(size__gte=filters.amount_min)
        if filters.amount_max is not None:
            rows = rows.filter(size__lte=filters.amount_max)
    if filters.before:
        rows = rows.filter(id__lt=filters.before)
    page = list(rows.order_by("-id")[: size + 1])
    if len(page) > size:
        return page[:size], page[size - 1].pk
    return page, None


# The ledger check ----------------------------------------------------------------
def ledger_mismatches() -> list[dict]:
    """Every wallet whose balance is not the sum of its ledger rows: one
    set-based query (GROUP BY wallet, HAVING |balance - sum| >= half a fen).
    Exact on PostgreSQL; SQLite sums decimals as floating point, so the
    comparison allows less than half a fen and the sum is rounded to fen."""
    money = DecimalField(max_digits=14, decimal_places=2)
    total = Coalesce(Sum("entries__amount"), Value(ZERO, output_field=money))
    rows = list(
        Wallet.objects.annotate(ledger_sum=total)
        .annotate(gap=Abs(F("balance") - F("ledger_sum"), output_field=money))
        .filter(gap__gte=HALF_FEN)
        .values("id", "user_id", "balance", "ledger_sum")
        .order_by("id")
    )
    for row in rows:
        row["ledger_sum"] = Decimal(row["ledger_sum"]).quantize(FEN)
    return rows


@dataclass(frozen=True)
class LedgerCheck:
    mismatches: list[dict]
    opened: int
    resolved: int
    mailed: int


def finance_recipients() -> list[str]:
    """E-mail addresses of the finance role's active members."""
    # E-mail is encrypted (kameng.fields): sorted and deduplicated once read.
    return sorted(
        set(
            User.objects.filter(
                groups__name=ROLE_BY_CODE["finance"].group_name, is_active=True
            )
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )


def check_ledgers() -> LedgerCheck:
    """Compare every balance with its ledger, keep one open alert per wallet
    that disagrees, resolve the others' alerts, and mail finance about new
    alerts (after commit, outside any transaction)."""
    mismatches = ledger_mismatches()
    now = timezone.now()
    with transaction.atomic():
        wrong = {row["id"]: row for row in mismatches}
        resolved = (
            LedgerAlert.objects.filter(resolved_at__isnull=True)
            .exclude(wallet_id__in=wrong)
            .update(resolved_at=now)
        )
        already = set(
            LedgerAlert.objects.filter(
                resolved_at__isnull=True, wallet_id__in=wrong
            ).values_list("wallet_id", flat=True)
        )
        LedgerAlert.objects.bulk_create(
            [
                LedgerAlert(
                    wallet_id=wallet_id,
                    balance=row["balance"],
                    ledger_sum=row["ledger_sum"],
                    found_at=now,
                )
                for wallet_id, row in wrong.items()
                if wallet_id not in already
            ],
            ignore_conflicts=True,  # a parallel run opened it: one stays open
        )
    opened = len(set(wrong) - already)
    return LedgerCheck(
        mismatches=mismatches,
        opened=opened,
        resolved=resolved,
        mailed=mail_new_alerts(),
    )


def mail_new_alerts() -> int:
    """Mail finance the open alerts nobody was told about (one mail); returns
    how many. They are marked first; a mail that fails un-marks them, so the
    next run tries again."""
    with transaction.atomic():
        alerts = list(
            LedgerAlert.objects.select_for_update(skip_locked=True)
            .filter(resolved_at__isnull=True, notified_at__isnull=True)
            .select_related("wallet__user")
            .order_by("id")
        )
        if not alerts:
            return 0
        stamp = timezone.now()
        ids = [alert.pk for alert in alerts]
        LedgerAlert.objects.filter(pk__in=ids).update(notified_at=stamp)
    recipients = finance_recipients()
    if not recipients:
        logger.warning("ledger alerts: no finance member has an e-mail address")
        return len(ids)
    lines = [
        _("Wallet of %(user)s: balance %(balance)s, ledger sum %(sum)s.")
        % {"user": a.wallet.user, "balance": a.balance, "sum": a.ledger_sum}
        for a in alerts
    ]
    subject = _("Ledger check: %(n)s wallet(s) do not add up") % {"n": len(ids)}
    try:
        send_mail(subject, "\n".join(lines), settings.DEFAULT_FROM_EMAIL, recipients)
    except OSError:
        logger.exception("ledger alert mail failed")
        LedgerAlert.objects.filter(pk__in=ids, notified_at=stamp).update(
            notified_at=None
        )
        return 0
    return len(ids)


def open_ledger_alerts():
    return LedgerAlert.objects.filter(resolved_at__isnull=True)
