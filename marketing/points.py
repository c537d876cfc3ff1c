"""Points (积分): the ledger and every rule that writes it, in one place.

Imported once from MarketingConfig.ready(): it registers the optional module
"points", its price step (position 50) and its checkout Benefit, connects its
order_paid receiver and declares its beat tasks.

Ledger (marketing.models.points): every write goes through `_write`, which runs
with the account row locked (`_locked_account`), refuses a balance below 0 and
keeps `remaining` of the positive entries (buckets) in step: negative entries
consume buckets oldest expiry first (FIFO), so expiry takes only unspent earned
points. A reference makes a write idempotent (unique per account and kind).

Earn: paid spend (order_paid; points = ⌊paid amount × the level's rate⌋, once
per order), a daily check-in (one per Asia/Shanghai day), an approved review of
a delivered order. Spend: as cash at checkout (a price layer limited by the
exchange rate and the max share of the order; claimed in the order's
transaction) or in the points mall (orders.points_mall).

Give back (release, in the order's transaction):
- cancelled: points spent on the order are returned;
- refunded in full: points spent are returned and points earned on the order
  are taken back (as much as the balance still holds: never below 0; the
  entry's note says what could not be taken back);
- partially refunded: nothing changes (a partial refund returns cash only;
  once the order is refunded in full the rule above applies).
Returned points are a new bucket expiring as points earned that day.

Expiry: points earned in year Y expire at the start of year Y + 1 +
(expiry_years - 1), i.e. by default at the end of the next year; the beat task
writes one EXPIRE entry per account and expiry date. `notice_days` before, a
PointsExpiryNotice row is written: the buyer sees it on the shop's points page
and account page (the shop has no buyer e-mail; buyers read what concerns them
on their pages, like staff notes on the order page).
"""

from __future__ import annotations

import copy
import datetime
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

from celery import shared_task
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Sum
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.models import Product
from catalog.services.pricing import (
    LAYER_LABELS,
    QuoteContext,
    register_price_step,
)
from kameng import audit, events
from kameng.compiled import CompiledRead
from kameng.db import joins_transaction
from kameng.exceptions import DomainError
from kameng.modules import Module, is_enabled, register_module
from kameng.process_cache import Stamped
from marketing.benefits import (
    CANCELLED,
    REFUNDED,
    Benefit,
    OrderRef,
    register_benefit,
)
from marketing.models import (
    PointsAccount,
    PointsCheckin,
    PointsEntry,
    PointsExpiryNotice,
    PointsLevelRate,
    PointsMallItem,
    PointsReview,
    PointsSettings,
)
from users.models import User

logger = logging.getLogger(__name__)

CODE = "points"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")
K = PointsEntry.Kind
SPENDS = (K.SPEND_CHECKOUT, K.SPEND_MALL)
ADJUST_PERMISSION = "marketing.adjust_points"
MODERATE_PERMISSION = "marketing.change_pointsreview"
MAX_ADJUST = 10_000_000
REVIEW_MAX_CHARS = 1000
ENTRIES_PAGE = 50

POINTS = register_module(
    Module(
        code=CODE,
        title=_("Points"),
        description=_(
            "Points earned on purchases, check-ins and reviews, spent at checkout "
            "or in the points mall. Off: the shop hides points, checkout takes no "
            "points, nothing is earned; balances are kept."
        ),
        models=(
            "marketing.pointsaccount",
            "marketing.pointsentry",
            "marketing.pointsreview",
            "marketing.pointsmallitem",
            "marketing.pointssettings",
        ),
        pages=("marketing:points_adjust",),
        order=40,
    )
)


class PointsRefused(DomainError):
    code = "marketing_points_refused"


# --- settings ----------------------------------------------------------------------


@dataclass(frozen=True)
class PointsRules:
    settings: PointsSettings  # this process's copy: never saved
    level_rates: Mapping[int, Decimal]  # member level id -> points per yuan


def _read_rules() -> PointsRules:
    found = PointsSettings.objects.filter(pk=1).first()
    if found is None:
        found, _created = PointsSettings.objects.get_or_create(pk=1)
    rates = dict(PointsLevelRate.objects.values_list("level_id", "earn_per_yuan"))
    return PointsRules(settings=found, level_rates=rates)


# Every sale, checkout quote and check-in reads the rules: kept per process,
# read again after the settings or a level's rate are saved or deleted (the
# receivers at the end of this module).
RULES = Stamped("marketing:points-rules", _read_rules)


def current_settings() -> PointsSettings:
    """The points rules (one row, made when missing); a copy of this process's,
    so a caller may change and save it."""
    return copy.copy(RULES.get().settings)


def earn_rate(*, member_level_id: int | None, rules: PointsSettings) -> Decimal:
    """Points per yuan of paid spend for a buyer of this level."""
    return _level_rate(RULES.get(), member_level_id, rules)


def _level_rate(
    rules: PointsRules, member_level_id: int | None, settings: PointsSettings
) -> Decimal:
    rate = rules.level_rates.get(member_level_id)
    return settings.earn_per_yuan if rate is None else rate


def expiry_for(earned_at: datetime.datetime, rules: PointsSettings):
    """When points earned at `earned_at` expire (None: never). With 1 year,
    points of 2026 expire at 2028-01-01 00:00 Shanghai (the end of 2027)."""
    if not rules.expiry_years:
        return None
    year = earned_at.astimezone(SHANGHAI).year + rules.expiry_years + 1
    return datetime.datetime(year, 1, 1, tzinfo=SHANGHAI)


def shanghai_day(at: datetime.datetime) -> datetime.date:
    return at.astimezone(SHANGHAI).date()


# --- the ledger --------------------------------------------------------------------


def account_for(buyer) -> PointsAccount | None:
    """The buyer's account, read only (None before their first points)."""
    if buyer is None or not getattr(buyer, "pk", None):
        return None
    return PointsAccount.objects.filter(buyer_id=buyer.pk).first()


def balance_of(buyer) -> int:
    if buyer is None or not getattr(buyer, "pk", None):
        return 0
    found = (
        PointsAccount.objects.filter(buyer_id=buyer.pk)
        .values_list("balance", flat=True)
        .first()
    )
    return found or 0


# An existing account locked in one statement the ORM compiled once per
# process (each sale's points paid its compile, issue 12); the mark is a buyer
# id no one has. The second one also reads the buyer's member level (the
# earn rate's), the account alone locked.
_NO_BUYER = -7_021_944_213
_LOCKED = CompiledRead(
    PointsAccount,
    lambda buyer_id: PointsAccount.objects.select_for_update().filter(
        buyer_id=buyer_id
    ),
    _NO_BUYER,
)
_LOCKED_WITH_LEVEL = CompiledRead(
    PointsAccount,
    lambda buyer_id: (
        PointsAccount.objects.select_for_update(of=("self",))
        .annotate(buyer_level_id=F("buyer__member_level"))
        .filter(buyer_id=buyer_id)
    ),
    _NO_BUYER,
)


def _locked_account(buyer_id: int) -> PointsAccount:
    """The buyer's account, created if needed, row-locked for this transaction:
    every write to one account waits for the one before."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("points are written inside a transaction")
    found = _LOCKED.first(buyer_id)
    if found is not None:
        return found
    try:
        with transaction.atomic():
            PointsAccount.objects.get_or_create(buyer_id=buyer_id)
    except IntegrityError:
        pass  # created by a parallel first write
    return PointsAccount.objects.select_for_update().get(buyer_id=buyer_id)


def _consume(account: PointsAccount, points: int, *, first=None) -> None:
    """Take `points` from the account's unspent buckets: `first` (an entry)
    before the others, then oldest expiry first (never-expiring last)."""
    left = points
    changed = []
    if first is not None and first.remaining > 0:
        take = min(first.remaining, left)
        first.remaining -= take
        left -= take
        changed.append(first)
    if left > 0:
        buckets = (
            PointsEntry.objects.filter(account=account, remaining__gt=0)
            .exclude(pk=getattr(first, "pk", None))
            .order_by(F("expires_at").asc(nulls_last=True), "id")
            .only("id", "remaining")
        )
        for bucket in buckets.iterator(chunk_size=200):
            take = min(bucket.remaining, left)
            bucket.remaining -= take
            left -= take
            changed.append(bucket)
            if left == 0:
                break
    if left:  # the balance said there was enough: the ledger disagrees
        raise PointsRefused(gettext("The points ledger is inconsistent."))
    PointsEntry.objects.bulk_update(changed, ["remaining"])


def _write(
    account: PointsAccount,
    *,
    amount: int,
    kind: str,
    reference: str = "",
    order_id: int | None = None,
    note: str = "",
    actor=None,
    at: datetime.datetime | None = None,
    rules: PointsSettings | None = None,
    first=None,
) -> PointsEntry:
    """One entry on a locked account. A reference already written for this
    kind returns that entry and changes nothing (idempotent): a negative
    entry asks first (it consumes buckets before it is written), a positive
    one is inserted unless the reference's row exists (one statement)."""
    earns = isinstance(amount, int) and not isinstance(amount, bool) and amount > 0
    if reference and not earns:
        done = _written(account, kind=kind, reference=reference)
        if done is not None:
            return done
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        raise PointsRefused(gettext("Points must be a whole number other than 0."))
    at = at or timezone.now()
    if account.balance + amount < 0:
        raise PointsRefused(
            gettext("Not enough points: %(balance)s available, %(needed)s needed.")
            % {"balance": account.balance, "needed": -amount},
            balance=account.balance,
            needed=-amount,
        )
    entry = PointsEntry(
        account=account,
        amount=amount,
        balance_after=account.balance + amount,
        kind=kind,
        reference=reference,
        order_id=order_id,
        note=note[:255],
        actor=actor if getattr(actor, "pk", None) else None,
    )
    if earns:
        entry.earned_at = at
        entry.expires_at = expiry_for(at, rules or RULES.get().settings)
        entry.remaining = amount
        if not _insert_once(entry):
            return _written(account, kind=kind, reference=reference)
    else:
        _consume(account, -amount, first=first)
        entry.save()
    _set_balance(account, account.balance + amount)
    return entry


def _written(account: PointsAccount, *, kind: str, reference: str):
    return PointsEntry.objects.filter(
        account=account, kind=kind, reference=reference
    ).first()


# The ledger's two writes of every earn, hand-written (names from model
# metadata): the ORM's save() built and compiled them at more CPU than the
# database took (issue 12). Both vendors know ON CONFLICT and RETURNING.
_ENTRY_FIELDS = tuple(
    field for field in PointsEntry._meta.concrete_fields if not field.primary_key
)
_LEDGER_SQL: dict[str, tuple[str, str]] = {}  # per vendor


def _ledger_sql() -> tuple[str, str]:
    found = _LEDGER_SQL.get(connection.vendor)
    if found is None:
        quote = connection.ops.quote_name
        entries, accounts = PointsEntry._meta, PointsAccount._meta
        columns = ", ".join(quote(field.column) for field in _ENTRY_FIELDS)
        values = ", ".join(["%s"] * len(_ENTRY_FIELDS))
        balance = quote(accounts.get_field("balance").column)
        updated = quote(accounts.get_field("updated_at").column)
        found = _LEDGER_SQL[connection.vendor] = (
            # a reference's second row hits marketing_points_once_per_reference
            f"INSERT INTO {quote(entries.db_table)} ({columns}) VALUES ({values}) "
            f"ON CONFLICT DO NOTHING RETURNING {quote(entries.pk.column)}",
            f"UPDATE {quote(accounts.db_table)} SET {balance} = %s, {updated} = %s "
            f"WHERE {quote(accounts.pk.column)} = %s",
        )
    return found


def _insert_once(entry: PointsEntry) -> bool:
    """entry.save(), unless its reference is already written (False)."""
    values = [
        field.get_db_prep_save(field.pre_save(entry, True), connection)
        for field in _ENTRY_FIELDS
    ]
    with connection.cursor() as cursor:
        cursor.execute(_ledger_sql()[0], values)
        row = cursor.fetchone()
    if row is None:
        return False
    entry.pk = row[0]
    entry._state.adding, entry._state.db = False, connection.alias
    return True


def _set_balance(account: PointsAccount, balance: int) -> None:
    """account.save(update_fields=["balance", "updated_at"])."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _ledger_sql()[1],
            [balance, connection.ops.adapt_datetimefield_value(now), account.pk],
        )
    account.balance, account.updated_at = balance, now


# --- earning -----------------------------------------------------------------------


def points_for_spend(amount: Decimal, rate: Decimal) -> int:
    """⌊paid amount × rate⌋ points (¥99.99 at 1 point per yuan: 99)."""
    return int((Decimal(amount) * rate).to_integral_value(rounding=ROUND_FLOOR))


@joins_transaction  # the outbox's drain rolls the row back if this fails
def earn_for_order(
    *,
    order_id: int,
    buyer_id: int | None,
    amount: Decimal,
    payment_method: str = "",
    at: datetime.datetime | None = None,
) -> PointsEntry | None:
    """Points for a paid order, once per order (order_paid may come twice).
    A buyer with an account: locked with their level read in one statement."""
    if buyer_id is None or payment_method == "points" or not is_enabled(CODE):
        return None
    rules = RULES.get()
    account = _LOCKED_WITH_LEVEL.first(buyer_id)
    if account is not None:
        level_id = account.buyer_level_id
    else:
        level_id = (
            User.objects.filter(pk=buyer_id)
            .values_list("member_level_id", flat=True)
            .first()
        )
    rate = _level_rate(rules, level_id, rules.settings)
    points = points_for_spend(amount, rate)
    if points <= 0:
        return None
    if account is None:
        account = _locked_account(buyer_id)
    return _write(
        account,
        amount=points,
        kind=K.EARN_PURCHASE,
        reference=f"order:{order_id}",
        order_id=order_id,
        rules=rules.settings,
        at=at,
    )


EARN_KINDS = (K.EARN_PURCHASE, K.CHECKIN, K.REVIEW, K.ADJUST)


@transaction.atomic
def award_points(
    *,
    buyer_id: int,
    amount: int,
    reference: str,
    note: str = "",
    kind: str = K.ADJUST,
    at: datetime.datetime | None = None,
) -> PointsEntry:
    """Points given by a rule of the system (a referral reward, the demo),
    once per reference. A staff member's change goes through adjust_points."""
    if kind not in EARN_KINDS or not reference:
        raise PointsRefused(gettext("Points must be a whole number other than 0."))
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise PointsRefused(gettext("Points must be a whole number other than 0."))
    return _write(
        _locked_account(buyer_id),
        amount=amount,
        kind=kind,
        reference=reference,
        note=note,
        at=at,
    )


class AlreadyCheckedIn(PointsRefused):
    code = "marketing_points_checked_in"


def checked_in_today(*, buyer, at=None) -> bool:
    day = shanghai_day(at or timezone.now())
    return PointsCheckin.objects.filter(account__buyer_id=buyer.pk, day=day).exists()


@transaction.atomic
def check_in(*, buyer, at: datetime.datetime | None = None) -> PointsEntry:
    """Today's check-in (Asia/Shanghai day): once a day, refused after."""
    if not is_enabled(CODE):
        raise PointsRefused(gettext("Points are switched off."))
    at = at or timezone.now()
    day = shanghai_day(at)
    rules = current_settings()
    account = _locked_account(buyer.pk)
    try:
        with transaction.atomic():
            PointsCheckin.objects.create(
                account=account, day=day, points=rules.checkin_points
            )
    except IntegrityError as exc:
        raise AlreadyCheckedIn(gettext("You have already checked in today.")) from exc
    if rules.checkin_points == 0:
        raise PointsRefused(gettext("Check-in gives no points right now."))
    return _write(
        account,
        amount=rules.checkin_points,
        kind=K.CHECKIN,
        reference=f"checkin:{day.isoformat()}",
        at=at,
        rules=rules,
    )


# --- reviews -----------------------------------------------------------------------


def review_for_order(order_id: int) -> PointsReview | None:
    return PointsReview.objects.filter(order_id=order_id).first()


@transaction.atomic
def submit_review(
    *, order_id: int, order_no: str, buyer, product_id: int, stars, text: str
) -> PointsReview:
    """A buyer's review of their delivered order, waiting for moderation. The
    caller (orders.points_mall.review_order) has checked the order is the
    buyer's and delivered; one review per order."""
    if not is_enabled(CODE):
        raise PointsRefused(gettext("Points are switched off."))
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise PointsRefused(gettext("Stars: choose 1 to 5."), field="stars")
    text = (text or "").strip()
    if not text:
        raise PointsRefused(gettext("Review: write a few words."), field="text")
    if len(text) > REVIEW_MAX_CHARS:
        raise PointsRefused(
            gettext("Review: at most %(n)s characters.") % {"n": REVIEW_MAX_CHARS},
            field="text",
        )
    try:
        with transaction.atomic():
            return PointsReview.objects.create(
                order_id=order_id,
                order_no=order_no,
                buyer=buyer,
                product_id=product_id,
                stars=stars,
                text=text,
            )
    except IntegrityError as exc:
        raise PointsRefused(gettext("This order has already been reviewed.")) from exc


@transaction.atomic
def moderate_review(*, review: PointsReview, approve: bool, actor) -> PointsReview:
    """Approve (shown, points granted once) or reject (hidden, no points) a
    pending review. A review already decided stays as it is."""
    review = PointsReview.objects.select_for_update().get(pk=review.pk)
    if review.status != PointsReview.Status.PENDING:
        return review
    review.status = (
        PointsReview.Status.APPROVED if approve else PointsReview.Status.REJECTED
    )
    review.moderated_by = actor if getattr(actor, "pk", None) else None
    review.moderated_at = timezone.now()
    review.save(update_fields=["status", "moderated_by", "moderated_at"])
    rules = current_settings()
    if approve and rules.review_points:
        _write(
            _locked_account(review.buyer_id),
            amount=rules.review_points,
            kind=K.REVIEW,
            reference=f"review:{review.order_id}",
            order_id=review.order_id,
            rules=rules,
        )
    return review


def shown_reviews(*, product_id: int, limit: int = 10) -> list[PointsReview]:
    """Approved reviews of a product, newest first (nothing while points are off)."""
    if not is_enabled(CODE):
        return []
    return list(
        PointsReview.objects.filter(
            product_id=product_id, status=PointsReview.Status.APPROVED
        )
        .select_related("buyer")
        .order_by("-id")[:limit]
    )


# --- spending at checkout: the price layer and the claim ----------------------------


def cash_for_points(points: int, rate: int) -> Decimal:
    """What `points` take off at `rate` points per yuan, down to the fen."""
    return (Decimal(points) / Decimal(rate)).quantize(CENT, rounding=ROUND_FLOOR)


def points_for_cash(cash: Decimal, rate: int) -> int:
    """The points a cash amount costs (⌈cash × rate⌉; never more than the points
    that bought it, as cash was rounded down)."""
    return int((cash * rate).to_integral_value(rounding=ROUND_CEILING))


def max_share(total: Decimal, rules: PointsSettings) -> Decimal:
    return (total * rules.max_share_percent / Decimal(100)).quantize(
        CENT, rounding=ROUND_FLOOR
    )


@dataclass(frozen=True)
class PointsOffer:
    """What the buyer may use on an order total: shown on the product page."""

    balance: int
    usable: int  # points
    cash: Decimal  # what `usable` takes off
    rate: int
    share: int


def offer_for(*, buyer, total: Decimal) -> PointsOffer | None:
    """The most points the buyer may use on `total` (None: points off, guest)."""
    if buyer is None or not is_enabled(CODE) or total is None:
        return None
    rules = current_settings()
    balance = balance_of(buyer)
    cash = min(
        cash_for_points(balance, rules.points_per_yuan_off),
        max_share(total, rules),
        max(total - CENT, Decimal("0.00")),
    )
    return PointsOffer(
        balance=balance,
        usable=points_for_cash(cash, rules.points_per_yuan_off),
        cash=cash,
        rate=rules.points_per_yuan_off,
        share=rules.max_share_percent,
    )


def requested_points(options: Mapping) -> int:
    raw = options.get("points") if options else None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        return 0
    return raw


def points_price_step(ctx: QuoteContext) -> None:
    """Points as cash: min(what the points buy, the max share of the order),
    an order-level layer. Nothing for a guest, without points chosen or while
    the module is off. The buyer's balance caps it (the claim checks again)."""
    wanted = requested_points(ctx.options)
    buyer = ctx.buyer
    if not wanted or buyer is None or not getattr(buyer, "pk", None):
        return
    if not is_enabled(CODE):
        return
    rules = current_settings()
    wanted = min(wanted, balance_of(buyer))
    cash = min(
        cash_for_points(wanted, rules.points_per_yuan_off), max_share(ctx.total, rules)
    )
    if cash <= 0:
        return
    ctx.take_off_total(
        CODE,
        LAYER_LABELS[CODE],
        cash,
        gettext("%(n)s points")
        % {"n": points_for_cash(cash, rules.points_per_yuan_off)},
    )


def _points_layer(quote):
    return next((layer for layer in quote.layers if layer.code == CODE), None)


def claim_points(*, order: OrderRef, quote, options: Mapping) -> None:
    """Debit the points the quote's layer used, in the order's transaction.
    Not enough points (spent meanwhile): PointsRefused, the order is refused."""
    layer = _points_layer(quote)
    if layer is None:
        return
    if order.buyer_id is None:
        raise PointsRefused(gettext("Log in to use points."))
    rules = current_settings()
    points = points_for_cash(layer.amount_off, rules.points_per_yuan_off)
    _write(
        _locked_account(order.buyer_id),
        amount=-points,
        kind=K.SPEND_CHECKOUT,
        reference=f"order:{order.order_id}",
        order_id=order.order_id,
        note=order.order_no,
    )


def spend_in_mall(
    *, buyer, item: PointsMallItem, order_id: int, order_no: str
) -> PointsEntry:
    """Debit a mall item's points for its order (orders.points_mall, inside the
    order's transaction). Not enough points: PointsRefused."""
    if not is_enabled(CODE):
        raise PointsRefused(gettext("Points are switched off."))
    return _write(
        _locked_account(buyer.pk),
        amount=-item.points,
        kind=K.SPEND_MALL,
        reference=f"order:{order_id}",
        order_id=order_id,
        note=order_no,
    )


def release_points(*, order_id: int, reason: str) -> None:
    """Give back what the order took and take back what it earned (see the
    module docstring); idempotent through the entries' references."""
    if reason not in (CANCELLED, REFUNDED):
        return  # a partial refund changes no points
    account_ids = set(
        PointsEntry.objects.filter(order_id=order_id).values_list(
            "account_id", flat=True
        )
    )
    for account_id in sorted(account_ids):
        buyer_id = PointsAccount.objects.values_list("buyer_id", flat=True).get(
            pk=account_id
        )
        account = _locked_account(buyer_id)
        rows = list(PointsEntry.objects.filter(account=account, order_id=order_id))
        spent = -sum(row.amount for row in rows if row.kind in SPENDS)
        if spent > 0:
            _write(
                account,
                amount=spent,
                kind=K.RETURN,
                reference=f"order:{order_id}",
                order_id=order_id,
            )
        earned = next((row for row in rows if row.kind == K.EARN_PURCHASE), None)
        if reason == REFUNDED and earned is not None:
            _take_back(account, earned=earned, order_id=order_id)


def _take_back(account: PointsAccount, *, earned: PointsEntry, order_id: int) -> None:
    reference = f"order:{order_id}"
    if PointsEntry.objects.filter(
        account=account, kind=K.REFUND_TAKEBACK, reference=reference
    ).exists():
        return
    points = min(earned.amount, account.balance)
    if points <= 0:
        return
    note = ""
    if points < earned.amount:
        note = gettext("%(n)s points already spent could not be taken back.") % {
            "n": earned.amount - points
        }
    _write(
        account,
        amount=-points,
        kind=K.REFUND_TAKEBACK,
        reference=reference,
        order_id=order_id,
        note=note,
        first=earned,
    )


# --- staff adjustments ----------------------------------------------------------------


@transaction.atomic
def adjust_points(
    *, buyer, amount: int, reason: str, actor, key: uuid.UUID
) -> PointsEntry:
    """Finance or marketing add (or, negative, take) points for a reason; the
    same form key again changes nothing. Audited as points.adjust."""
    if not actor.has_perm(ADJUST_PERMISSION):
        raise PointsRefused(gettext("You may not adjust points."))
    reason = (reason or "").strip()
    if not reason:
        raise PointsRefused(gettext("An adjustment needs a reason."), field="reason")
    if getattr(buyer, "is_staff", False):
        raise PointsRefused(gettext("Only buyers have points."), field="buyer")
    if (
        isinstance(amount, bool)
        or not isinstance(amount, int)
        or amount == 0
        or abs(amount) > MAX_ADJUST
    ):
        raise PointsRefused(
            gettext("Points: a whole number other than 0, at most %(max)s.")
            % {"max": MAX_ADJUST},
            field="amount",
        )
    account = _locked_account(buyer.pk)
    before = account.balance
    entry = _write(
        account,
        amount=amount,
        kind=K.ADJUST,
        reference=f"adjust:{key.hex}",
        note=reason,
        actor=actor,
    )
    if entry.actor_id == getattr(actor, "pk", None) and account.balance != before:
        audit.record(
            actor=actor,
            action="points.adjust",
            obj=account,
            before={"balance": before},
            after={"balance": account.balance},
            note=reason,
        )
    return entry


# --- expiry ----------------------------------------------------------------------


def expire_points(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Write an EXPIRE entry for every account's unspent points whose bucket
    expired: one per account and expiry date; each account in its own short
    transaction. Run by beat; safe to run twice."""
    now = now or timezone.now()
    due = (
        PointsEntry.objects.filter(remaining__gt=0, expires_at__lte=now)
        .values("account_id", "expires_at")
        .distinct()
        .order_by("account_id", "expires_at")
    )
    accounts = points = 0
    for row in due.iterator(chunk_size=2000):
        with transaction.atomic():
            account = PointsAccount.objects.select_for_update().get(
                pk=row["account_id"]
            )
            buckets = list(
                PointsEntry.objects.filter(
                    account=account, remaining__gt=0, expires_at=row["expires_at"]
                )
            )
            total = sum(bucket.remaining for bucket in buckets)
            if total <= 0:
                continue
            day = row["expires_at"].astimezone(SHANGHAI).date()
            _write(
                account,
                amount=-total,
                kind=K.EXPIRE,
                reference=f"expire:{day.isoformat()}",
                at=now,
                first=None,
            )
            accounts += 1
            points += total
    return {"accounts": accounts, "points": points}


def send_expiry_notices(*, now: datetime.datetime | None = None) -> int:
    """A notice per account and expiry date `notice_days` ahead (once);
    returns how many were new."""
    now = now or timezone.now()
    horizon = now + datetime.timedelta(days=current_settings().notice_days)
    rows = (
        PointsEntry.objects.filter(
            remaining__gt=0, expires_at__gt=now, expires_at__lte=horizon
        )
        .values("account_id", "expires_at")
        .annotate(points=Sum("remaining"))
        .order_by("account_id", "expires_at")
    )
    before = PointsExpiryNotice.objects.filter(expires_at__gt=now).count()
    batch = []
    for row in rows.iterator(chunk_size=2000):
        batch.append(
            PointsExpiryNotice(
                account_id=row["account_id"],
                expires_at=row["expires_at"],
                points=row["points"],
            )
        )
        if len(batch) >= 2000:
            PointsExpiryNotice.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    if batch:
        PointsExpiryNotice.objects.bulk_create(batch, ignore_conflicts=True)
    return PointsExpiryNotice.objects.filter(expires_at__gt=now).count() - before


@dataclass(frozen=True)
class Expiring:
    points: int
    expires_at: datetime.datetime


def expiring_soon(*, account: PointsAccount | None, now=None) -> list[Expiring]:
    """Unspent points that expire within the notice period, per date."""
    if account is None:
        return []
    now = now or timezone.now()
    horizon = now + datetime.timedelta(days=current_settings().notice_days)
    rows = (
        PointsEntry.objects.filter(
            account=account,
            remaining__gt=0,
            expires_at__gt=now,
            expires_at__lte=horizon,
        )
        .values("expires_at")
        .annotate(points=Sum("remaining"))
        .order_by("expires_at")
    )
    return [
        Expiring(points=row["points"], expires_at=row["expires_at"]) for row in rows
    ]


def open_notices(
    *, account: PointsAccount | None, now=None
) -> list[PointsExpiryNotice]:
    """The expiry notices the buyer should still see (date not passed)."""
    if account is None or not is_enabled(CODE):
        return []
    now = now or timezone.now()
    return list(
        PointsExpiryNotice.objects.filter(account=account, expires_at__gt=now).order_by(
            "expires_at"
        )
    )


# --- the invariant check ------------------------------------------------------------


@dataclass(frozen=True)
class PointsCheck:
    mismatches: list[dict]  # {"id", "buyer_id", "balance", "ledger_sum", "unspent"}


def check_points() -> PointsCheck:
    """Every account whose balance is not the sum of its entries, or not the
    sum of its unspent buckets: one set-based query (GROUP BY account, the
    disagreeing rows only)."""
    wrong = list(
        PointsAccount.objects.annotate(
            ledger_sum=Sum("entries__amount", default=0),
            unspent=Sum(
                "entries__remaining", filter=Q(entries__amount__gt=0), default=0
            ),
        )
        .filter(~Q(balance=F("ledger_sum")) | ~Q(balance=F("unspent")))
        .values("id", "buyer_id", "balance", "ledger_sum", "unspent")
        .order_by("id")
    )
    if wrong:
        logger.error("points ledger mismatches: %s", [row["id"] for row in wrong])
    return PointsCheck(mismatches=wrong)


# --- the shop's list of entries ----------------------------------------------------


def entries_page(
    *, account: PointsAccount | None, before: int | None = None, size: int = 20
):
    """One page of the buyer's entries, newest first, and the id to continue
    from (None: last page). Keyset, never a COUNT."""
    if account is None:
        return [], None
    rows = PointsEntry.objects.filter(account=account)
    if before:
        rows = rows.filter(id__lt=before)
    page = list(rows.order_by("-id")[: size + 1])
    if len(page) > size:
        return page[:size], page[size - 1].pk
    return page, None


def mall_items() -> list[PointsMallItem]:
    """The mall's items on offer: listed SKUs that need no recharge account
    (a short list, filtered here rather than by JSON in SQL)."""
    if not is_enabled(CODE):
        return []
    items = PointsMallItem.objects.filter(
        is_active=True, sku__is_active=True, sku__product__status=Product.Status.LISTED
    ).select_related("sku__product")
    return [item for item in items if not item.sku.recharge_fields]


# --- wiring: price step, benefit, receiver, beat tasks --------------------------------

register_price_step(points_price_step, position=50)
register_benefit(
    Benefit(module=CODE, layers=(CODE,), claim=claim_points, release=release_points)
)


@receiver(post_save, sender=PointsSettings, dispatch_uid="marketing.points.rules")
@receiver(post_delete, sender=PointsSettings, dispatch_uid="marketing.points.gone")
@receiver(post_save, sender=PointsLevelRate, dispatch_uid="marketing.points.rate")
@receiver(post_delete, sender=PointsLevelRate, dispatch_uid="marketing.points.rm")
def forget_rules(sender, **kwargs):
    RULES.changed()


@receiver(events.order_paid, dispatch_uid="marketing.points.earn_on_paid")
def earn_on_paid(sender, order_id, buyer_id=None, amount=None, **kwargs):
    if buyer_id is not None and amount is not None:
        earn_for_order(
            order_id=order_id,
            buyer_id=buyer_id,
            amount=amount,
            payment_method=kwargs.get("payment_method", ""),
        )


@shared_task(name="marketing.expire_points")
def expire_points_task() -> dict[str, int]:
    result = expire_points()
    result["notices"] = send_expiry_notices()
    return result


@shared_task(name="marketing.check_points")
def check_points_task() -> dict[str, int]:
    return {"mismatches": len(check_points().mismatches)}
