"""The wallet sale of card codes on PostgreSQL, as four hand-written statements.

orders.checkout.buy_with_wallet sells a card SKU through `sell_codes` when the
database is PostgreSQL; elsewhere (the embedded SQLite default) and for every
other kind of SKU it takes the ORM path (place_order, then the wallet, the
transition table and deliver_on_payment one call at a time). Both paths keep
the same rules and are tested against the same cases:

1. the wallet debit, guarded: `UPDATE … WHERE balance >= amount RETURNING`
   (the row lock serialises a buyer's debits; never below zero), returning
   too whether the buyer is risk-flagged and the kind of the newest blacklist
   entry that blocks the sale (orders.risk's own query, asked inside this
   statement: one round trip fewer on every sale; a blocked sale rolls back);
2. the code pick and mark-sold in one `UPDATE … WHERE id IN (SELECT … FOR
   UPDATE SKIP LOCKED) RETURNING`: two buyers never get the same code and never
   wait for each other (catalog.services.codes.PICK_AVAILABLE_SQL);
3. the order (delivered, with its price breakdown), its two OrderEvent rows
   (pending_payment → paid → delivered, checked against the transition table),
   the ledger row and order_paid's outbox row (PaidAnnouncement, as
   orders.transitions.write_paid_announcement writes it on the ORM path) in one
   statement; a drawn order number already taken inserts nothing and is drawn
   again;
4. last, the counters: the SKU's stock and the daily sales upsert. The SKU row
   lock is the one every buyer of the SKU queues for, so it is held the shortest.
   The statement returns the SKU's `sale_version`: a sale quoted from an out of
   date catalog entry raises StaleCatalog (everything rolls back) and is quoted
   again. Every price edit locks that row too, so a sale that commits after an
   edit has always been quoted after it.

A sale at a flash sale's price arrives with its units already claimed
(orders.checkout, before the debit, as on the ORM path): `reserve_order` gave
the claims the order's id and number, and statement 3 inserts the order under
them.

Table and column names come from model metadata. The after-commit signals
(order_delivered, the stock check, order_paid's wake-up: its row is already
written here) are the caller's, as on the ORM path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import CardCode, Sku, SkuSalesDay
from catalog.services.codes import PICK_AVAILABLE_SQL
from orders.exceptions import IllegalTransition, SoldOut
from orders.models import Order, OrderEvent, PaidAnnouncement, new_order_no
from orders.risk import (
    Wanted,
    blacklist_refusal,
    blocking_kind,
    newest_active_entry_sql,
)
from orders.transitions import ALLOWED
from users.exceptions import InsufficientBalance
from users.models import LedgerEntry, RiskFlag, Wallet

S = Order.Status
CARD_REASON = "card codes"  # the delivery event's reason, as on the ORM path
WALLET_REASON = "wallet"


class StaleCatalog(Exception):
    """The SKU changed since the sale was quoted: roll back, quote again."""


class NumberTaken(Exception):
    """The order number reserved for the sale (and recorded by its claims) was
    drawn twice: roll back, start again with another."""


class NeedsReview(Exception):
    """The buyer is risk-flagged: the sale takes the ORM path, which holds it."""


def _columns(model: type[Model]) -> dict[str, str]:
    return {f.name: f.column for f in model._meta.concrete_fields}


def _insert_list(model: type[Model], given: set[str]) -> tuple[str, list]:
    """The column list of an INSERT naming `given` fields, plus the fields nobody
    named (added since this was written) with their Python defaults, so a new
    column with a default never breaks the sale."""
    others = [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and f.name not in given
    ]
    return ", ".join(f.column for f in others), others


W, OR, E, L, C, K, D, P = (
    _columns(Wallet),
    _columns(Order),
    _columns(OrderEvent),
    _columns(LedgerEntry),
    _columns(CardCode),
    _columns(Sku),
    _columns(SkuSalesDay),
    _columns(PaidAnnouncement),
)

# 1. The debit, only when the balance covers it; returns the wallet, the balance
#    left, whether the buyer is risk-flagged (orders.risk holds their orders)
#    and, last (added per sale), the kind of a blacklist entry blocking it.
DEBIT = (
    f"UPDATE {Wallet._meta.db_table} SET {W['balance']} = {W['balance']} - %s, "
    f"{W['updated_at']} = %s "
    f"WHERE {W['user']} = %s AND {W['balance']} >= %s "
    f"RETURNING {W['id']}, {W['balance']}, EXISTS (SELECT 1 FROM "
    f"{RiskFlag._meta.db_table} WHERE {_columns(RiskFlag)['user']} = %s)"
)


def _debit(blacklist: Wanted) -> tuple[str, list]:
    """DEBIT with the blacklist's answer as its last column (NULL: not blocked)."""
    if not blacklist:
        return f"{DEBIT}, NULL", []
    sql, params = newest_active_entry_sql(blacklist, only_kind=True)
    return f"{DEBIT}, ({sql})", params


BALANCE = f"SELECT {W['balance']} FROM {Wallet._meta.db_table} WHERE {W['user']} = %s"

# 2. Pick and sell codes (parameters: order number, sold at, [sku id], quantity).
SELL_CODES = (
    f"UPDATE {CardCode._meta.db_table} SET "
    f"{C['status']} = '{CardCode.Status.SOLD}', {C['order_ref']} = %s, "
    f"{C['sold_at']} = %s WHERE {C['id']} IN "
    f"(SELECT picked.id FROM ({PICK_AVAILABLE_SQL}) AS picked) RETURNING {C['id']}"
)
# A reusable code is sold to every buyer and never used up: nothing to lock.
REUSABLE_CODE = (
    f"SELECT {C['id']} FROM {CardCode._meta.db_table} WHERE {C['sku']} = %s "
    f"AND {C['status']} = '{CardCode.Status.AVAILABLE}' ORDER BY {C['id']} LIMIT 1"
)
RENAME_CODES = (
    f"UPDATE {CardCode._meta.db_table} SET {C['order_ref']} = %s "
    f"WHERE {C['id']} = ANY(%s)"
)

# 3. The order, its two events, the ledger row and order_paid's outbox row. A
#    card sale has no contact and no recharge account: empty stays '' in those
#    encrypted columns, and the account and the blind indexes take their
#    defaults through their own fields (kameng.fields, issue 15), so nothing
#    here encrypts by hand.
_ORDER_FIELDS = {
    "order_no": "%s",
    "buyer": "%s",
    "contact": "''",
    "lookup_password": "''",
    "sku": "%s",
    "quantity": "%s",
    "unit_price": "%s",
    "amount": "%s",
    "refunded_amount": "0",
    "price_breakdown": "%s::jsonb",
    "delivery": "%s::jsonb",
    "status": f"'{S.DELIVERED}'",
    "payment_method": f"'{Order.PaymentMethod.WALLET}'",
    "flag": "''",
    "created_at": "%s",
    "paid_at": "%s",
    "delivered_at": "%s",
    "updated_at": "%s",
}
_EVENT_FIELDS = ("order", "from_status", "to_status", "actor", "reason", "created_at")
_LEDGER_FIELDS = (
    "wallet",
    "amount",
    "balance_after",
    "kind",
    "reference",
    "note",
    "actor",
    "created_at",
)
# order_paid's payload (PaidAnnouncement.PAYLOAD), unclaimed.
_PAID_FIELDS = (
    "order_id",
    "buyer_id",
    "amount",
    "payment_method",
    "category_id",
    "created_at",
    "claimed_until",
)
_order_more, ORDER_DEFAULTS = _insert_list(Order, set(_ORDER_FIELDS))
_event_more, EVENT_DEFAULTS = _insert_list(OrderEvent, set(_EVENT_FIELDS))
_ledger_more, LEDGER_DEFAULTS = _insert_list(LedgerEntry, set(_LEDGER_FIELDS))
_paid_more, PAID_DEFAULTS = _insert_list(PaidAnnouncement, set(_PAID_FIELDS))


def _more(columns: str) -> str:
    return f", {columns}" if columns else ""


def _params(count: int) -> str:
    return "".join(", %s" for _ in range(count))


_event_select = (
    "SELECT o.id, %s, %s, %s, %s, %s" + _params(len(EVENT_DEFAULTS)) + " FROM o"
)


def _record_sale_sql(*, reserved: bool) -> str:
    """Statement 3; `reserved`: the order's id is given (reserve_order), not
    drawn by the insert."""
    id_column, id_value = (f"{OR['id']}, ", "%s, ") if reserved else ("", "")
    return (
        f"WITH o AS (INSERT INTO {Order._meta.db_table} ({id_column}"
        f"{', '.join(OR[name] for name in _ORDER_FIELDS)}{_more(_order_more)}) "
        f"VALUES ({id_value}{', '.join(_ORDER_FIELDS.values())}"
        f"{_params(len(ORDER_DEFAULTS))}) "
        f"ON CONFLICT ({OR['order_no']}) DO NOTHING RETURNING {OR['id']}), "
        f"e AS (INSERT INTO {OrderEvent._meta.db_table} "
        f"({', '.join(E[name] for name in _EVENT_FIELDS)}{_more(_event_more)}) "
        f"{_event_select} UNION ALL {_event_select}), "
        f"l AS (INSERT INTO {LedgerEntry._meta.db_table} "
        f"({', '.join(L[name] for name in _LEDGER_FIELDS)}{_more(_ledger_more)}) "
        f"SELECT %s, %s, %s, '{LedgerEntry.Kind.PURCHASE}', %s, '', %s, %s"
        f"{_params(len(LEDGER_DEFAULTS))} FROM o), "
        f"p AS (INSERT INTO {PaidAnnouncement._meta.db_table} "
        f"({', '.join(P[name] for name in _PAID_FIELDS)}{_more(_paid_more)}) "
        f"SELECT o.id, %s, %s, '{Order.PaymentMethod.WALLET}', %s, %s, NULL"
        f"{_params(len(PAID_DEFAULTS))} FROM o) "
        f"SELECT id FROM o"
    )


RECORD_SALE = _record_sale_sql(reserved=False)
RECORD_RESERVED_SALE = _record_sale_sql(reserved=True)

# Before a sale that claims marketing's benefits: the order's id, drawn from
# its column's sequence, so the claims can name the order before it exists.
NEXT_ORDER_ID = (
    f"SELECT nextval(pg_get_serial_sequence('{Order._meta.db_table}', '{OR['id']}'))"
)

# 4. The counters, last: stock (nothing for a reusable code) and daily sales.
COUNT_SALE = (
    f"WITH s AS (UPDATE {Sku._meta.db_table} SET {K['stock']} = {K['stock']} - %s "
    f"WHERE {K['id']} = %s RETURNING {K['stock']}, {K['sale_version']}), "
    f"d AS (INSERT INTO {SkuSalesDay._meta.db_table} "
    f"({D['sku']}, {D['day']}, {D['quantity']}) VALUES (%s, %s, %s) "
    f"ON CONFLICT ({D['sku']}, {D['day']}) DO UPDATE SET {D['quantity']} = "
    f"{SkuSalesDay._meta.db_table}.{D['quantity']} + EXCLUDED.{D['quantity']}) "
    f"SELECT {K['stock']}, {K['sale_version']} FROM s"
)


def _defaults(fields) -> list:
    return [f.get_db_prep_save(f.get_default(), connection) for f in fields]


def _check_transitions() -> None:
    """The sale moves pending_payment → paid → delivered in one go: only while
    the transition table allows both steps."""
    for src, dst in ((S.PENDING_PAYMENT, S.PAID), (S.PAID, S.DELIVERED)):
        if dst not in ALLOWED[src]:
            raise IllegalTransition(
                _("Order %(no)s cannot go from %(src)s to %(dst)s.")
                % {"no": "-", "src": S(src).label, "dst": S(dst).label},
                src=src,
                dst=dst,
            )


@dataclass(frozen=True)
class Reserved:
    """An order's id and number before its row exists (reserve_order)."""

    order_id: int
    order_no: str


def reserve_order(at: datetime) -> Reserved:
    """The id and number the next sale's order will have: for the claims of
    marketing's benefits, which name the order and come before the wallet's
    debit (docs/architecture.md, "Lock order")."""
    with connection.cursor() as cursor:
        cursor.execute(NEXT_ORDER_ID)
        (order_id,) = cursor.fetchone()
    return Reserved(order_id=order_id, order_no=new_order_no(at))


@dataclass(frozen=True)
class CodeSale:
    order: Order
    stock: int | None  # what the sale left, read under the SKU's lock


def sell_codes(
    *,
    sku: Sku,
    version: int,
    buyer,
    quantity: int,
    unit_price: Decimal,
    amount: Decimal,
    price_breakdown: dict,
    blacklist: Wanted | None = None,
    at: datetime | None = None,
    reserved: Reserved | None = None,
) -> CodeSale:
    """Sell `quantity` codes of a card SKU to `buyer` from their wallet, in the
    caller's transaction (PostgreSQL). Raises CheckoutRefused (`blacklist`,
    orders.risk.blacklist_wanted, names a blocked value), InsufficientBalance,
    SoldOut, NeedsReview (a risk-flagged buyer, with risk holds on) or
    StaleCatalog (the SKU is no longer at `version`); the caller's transaction
    then rolls back. `reserved`: the order's id and number, reserved by
    reserve_order for claims made before the sale (NumberTaken when the
    number was drawn twice meanwhile)."""
    _check_transitions()
    now = at or timezone.now()
    debit, blocked_by = _debit(blacklist or [])
    with connection.cursor() as cursor:
        cursor.execute(debit, [amount, now, buyer.pk, amount, buyer.pk, *blocked_by])
        debited = cursor.fetchone()
        if debited is None:
            if hit := blocking_kind(blacklist or []):
                raise blacklist_refusal(hit)  # before what the balance lacks
            cursor.execute(BALANCE, [buyer.pk])
            row = cursor.fetchone()
            balance = row[0] if row else Decimal("0.00")
            raise InsufficientBalance(
                _("Insufficient balance: %(balance)s available, %(needed)s needed.")
                % {"balance": balance, "needed": amount},
                balance=balance,
            )
        wallet_id, balance, flagged, blocked = debited
        if blocked:
            raise blacklist_refusal(blocked)
        if flagged and settings.RISK_HOLD_FLAGGED_ORDERS:
            raise NeedsReview

        if reserved is None:
            order_id, order_no, record = None, new_order_no(now), RECORD_SALE
        else:
            order_id, order_no = reserved.order_id, reserved.order_no
            record = RECORD_RESERVED_SALE
        if sku.reusable_code:
            cursor.execute(REUSABLE_CODE, [sku.pk])
            row = cursor.fetchone()
            code_ids = [row[0]] * quantity if row else []
        else:
            cursor.execute(SELL_CODES, [order_no, now, [sku.pk], quantity])
            code_ids = sorted(pk for (pk,) in cursor.fetchall())
        if len(code_ids) < quantity:
            raise SoldOut(
                _("Sold out: only %(available)s left.") % {"available": len(code_ids)},
                sku=sku.code,
                wanted=quantity,
                available=len(code_ids),
            )

        delivery = {"code_ids": code_ids}
        for _attempt in range(5):
            cursor.execute(
                record,
                [
                    *([] if reserved is None else [order_id]),
                    order_no,
                    buyer.pk,
                    sku.pk,
                    quantity,
                    unit_price,
                    amount,
                    json.dumps(price_breakdown),
                    json.dumps(delivery),
                    now,
                    now,
                    now,
                    now,
                    *_defaults(ORDER_DEFAULTS),
                    S.PENDING_PAYMENT,
                    S.PAID,
                    buyer.pk,
                    WALLET_REASON,
                    now,
                    *_defaults(EVENT_DEFAULTS),
                    S.PAID,
                    S.DELIVERED,
                    buyer.pk,
                    CARD_REASON,
                    now,
                    *_defaults(EVENT_DEFAULTS),
                    wallet_id,
                    -amount,
                    balance,
                    order_no,
                    buyer.pk,
                    now,
                    *_defaults(LEDGER_DEFAULTS),
                    buyer.pk,
                    amount,
                    sku.product.category_id,
                    now,
                    *_defaults(PAID_DEFAULTS),
                ],
            )
            row = cursor.fetchone()
            if row is not None:
                break
            # The number was drawn twice (ON CONFLICT: nothing inserted): again.
            if reserved is not None:
                raise NumberTaken  # the claims recorded this one
            order_no = new_order_no(now)
            if not sku.reusable_code:
                cursor.execute(RENAME_CODES, [order_no, code_ids])
        else:
            raise RuntimeError("could not draw a free order number")
        order_id = row[0]

        cursor.execute(
            COUNT_SALE,
            [
                0 if sku.reusable_code else quantity,
                sku.pk,
                sku.pk,
                timezone.localdate(now),
                quantity,
            ],
        )
        counted = cursor.fetchone()
    if counted is None or counted[1] != version:
        raise StaleCatalog
    order = Order(
        id=order_id,
        order_no=order_no,
        buyer=buyer,
        contact="",
        lookup_password="",
        sku=sku,
        quantity=quantity,
        unit_price=unit_price,
        amount=amount,
        price_breakdown=price_breakdown,
        recharge_account={},
        delivery=delivery,
        status=S.DELIVERED,
        payment_method=Order.PaymentMethod.WALLET,
        created_at=now,
        paid_at=now,
        delivered_at=now,
        updated_at=now,
    )
    order._state.adding = False
    order._state.db = connection.alias
    return CodeSale(order=order, stock=None if sku.reusable_code else counted[0])
