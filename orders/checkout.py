"""Buying: placing an order at today's price, paying it from the wallet, and
cancelling one still unpaid. Gateway payments are orders.payments; delivery
after payment is orders.fulfilment."""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product, Sku
from catalog.recharge import validate_recharge_fields
from catalog.services import sale_cache
from catalog.services.sale_cache import fresh_entry, sale_entry
from kameng import events
from kameng.exceptions import DomainError
from marketing.benefits import OrderRef, claim_benefits, involves_marketing
from orders.exceptions import CheckoutRefused, IllegalTransition
from orders.fulfilment import check_stock_after_sale, deliver_on_payment
from orders.models import Order, new_order_no
from orders.risk import (
    Wanted,
    blacklist_refusal,
    blacklist_wanted,
    blocking_kind,
    refuse_if_blacklisted,
)
from orders.sale_sql import (
    NeedsReview,
    NumberTaken,
    Reserved,
    StaleCatalog,
    reserve_order,
    sell_codes,
)
from orders.transitions import send_after_commit, transition_order, wake_after_commit
from users.models import LedgerEntry
from users.services import debit_wallet

S = Order.Status


def place_order(
    *,
    sku: Sku,
    quantity: int,
    buyer=None,
    contact: str = "",
    lookup_password: str = "",
    recharge_account: dict | None = None,
    ip: str = "",
    options: Mapping | None = None,
) -> Order:
    """A pending order at today's price. Refuses (CheckoutRefused, nothing written)
    a SKU off sale, a quantity outside its limits, a bad recharge account, and
    a blacklisted account, contact, IP address or recharge account.

    `options`: what the buyer chose for marketing's layers (`coupon_id`,
    `points`, ...), read by their price steps; what those layers promised is
    claimed in the order's transaction (marketing.benefits), and a claim that
    cannot be honoured refuses the order."""
    refuse_if_blacklisted(  # risk: the one blacklist check, one query
        buyer=buyer, contact=contact, ip=ip, recharge_account=recharge_account
    )
    now = timezone.now()
    sku = Sku.objects.select_related("product").get(pk=sku.pk)
    if not sku.is_active or sku.product.status != Product.Status.LISTED:
        raise CheckoutRefused(_("This item is not on sale right now."))
    if buyer is None and not contact.strip():
        raise CheckoutRefused(_("Guests must leave an email or phone number."))
    account = {}
    if sku.delivery_type == Sku.DeliveryType.TOPUP or sku.recharge_fields:
        try:
            account = validate_recharge_fields(sku=sku, data=recharge_account or {})
        except ValidationError as exc:
            raise CheckoutRefused(
                " ".join(exc.messages), fields=getattr(exc, "message_dict", {})
            ) from exc
    try:
        quote = sale_cache.quote(
            sale_entry(sku.pk, version=sku.sale_version),
            buyer=buyer,
            quantity=quantity,
            at=now,
            options=options,
        )
    except DomainError as exc:  # quantity outside the SKU's limits, ...
        raise CheckoutRefused(exc.message, **exc.extra) from exc
    with transaction.atomic():
        order = _create_order(
            now=now,
            buyer=buyer,
            contact=contact,
            lookup_password=lookup_password,
            sku=sku,
            quantity=quantity,
            quote=quote,
            account=account,
        )
        try:
            claim_benefits(order=order_ref(order), quote=quote, options=options)
        except DomainError as exc:  # coupon used meanwhile, flash sale sold out...
            raise CheckoutRefused(exc.message, **exc.extra) from exc
        return order


def order_ref(order: Order) -> OrderRef:
    """The order as marketing sees it (marketing.benefits)."""
    return OrderRef(
        order_id=order.pk,
        order_no=order.order_no,
        buyer_id=order.buyer_id,
        sku_id=order.sku_id,
        product_id=order.sku.product_id,
        category_id=order.sku.product.category_id,
        quantity=order.quantity,
        amount=order.amount,
        at=order.created_at,
    )


def _create_order(
    *, now, buyer, contact, lookup_password, sku, quantity, quote, account
) -> Order:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Order.objects.create(
                    order_no=new_order_no(now),
                    buyer=buyer,
                    contact=contact.strip()[:120],
                    lookup_password=make_password(lookup_password)
                    if lookup_password
                    else "",
                    sku=sku,
                    quantity=quantity,
                    unit_price=quote.unit_price,
                    amount=quote.total,
                    price_breakdown=quote.as_dict(),
                    recharge_account=account,
                )
        except IntegrityError:
            continue  # an order number drawn twice: draw again
    raise RuntimeError("could not draw a free order number")


@transaction.atomic
def pay_with_wallet(*, order: Order, actor=None) -> Order:
    """Debit the buyer's wallet and mark the order paid, in one transaction; card
    codes are taken in the same transaction. Sold out or short of balance: the
    transaction rolls back, nothing is charged, the order stays pending."""
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("sku", "buyer")
        .get(pk=order.pk)
    )
    if order.status != S.PENDING_PAYMENT:
        if order.payment_method == Order.PaymentMethod.WALLET and order.paid_at:
            return order  # a double click: already paid by this very path
        raise IllegalTransition(
            _("Order %(no)s is %(status)s and cannot be paid.")
            % {"no": order.order_no, "status": S(order.status).label}
        )
    if order.buyer_id is None:
        raise CheckoutRefused(_("Log in to pay with your balance."))
    return _settle_from_wallet(order=order, buyer=order.buyer, actor=actor)


def buy_with_wallet(
    *,
    sku: Sku,
    quantity: int,
    buyer,
    recharge_account: dict | None = None,
    ip: str = "",
    options: Mapping | None = None,
) -> Order:
    """The storefront's wallet checkout: place the order and pay it from the
    buyer's balance in one transaction. A refusal (off sale, sold out, short of
    balance) rolls all of it back: nothing charged, no pending order left behind.

    Card codes on PostgreSQL take the hand-written sale (orders.sale_sql: four
    statements, the catalog from the per-process sale cache); everything else,
    and a risk-flagged buyer whose order is held, the ORM path. Same rules,
    same tests (tests/orders/test_checkout_paths.py). A sale with a choice for
    marketing (a coupon, points) takes the ORM path too; a flash sale's price
    takes the hand-written one, its units claimed before the wallet's debit."""
    if buyer is None:
        raise CheckoutRefused(_("Log in to pay with your balance."))
    if sells_by_sql(sku) and not options:
        # risk: the one blacklist check, asked inside the sale's debit
        blacklist = blacklist_wanted(
            buyer=buyer, contact="", ip=ip, recharge_account=recharge_account
        )
        try:
            order = _buy_codes(
                sku=sku, quantity=quantity, buyer=buyer, blacklist=blacklist
            )
        except (NeedsReview, _NotByCodes):
            order = None  # held for review / no longer a card SKU: the ORM path
        if order is not None:
            return order
    with transaction.atomic():
        order = place_order(
            sku=sku,
            quantity=quantity,
            buyer=buyer,
            recharge_account=recharge_account,
            ip=ip,
            options=options,
        )
        return _settle_from_wallet(order=order, buyer=buyer, actor=buyer)


# The per-vendor pick: the hand-written sale needs PostgreSQL (SKIP LOCKED,
# RETURNING, ON CONFLICT); tests switch it off to run the ORM path on Postgres.
SQL_SALE_VENDORS = {"postgresql"}


def sells_by_sql(sku: Sku) -> bool:
    return (
        connection.vendor in SQL_SALE_VENDORS
        and sku.delivery_type == Sku.DeliveryType.CARD
        and not sku.recharge_fields
    )


class _NotByCodes(Exception):
    """The SKU changed meanwhile into one the hand-written sale does not sell."""


def _quote_codes(entry, *, buyer, quantity: int, at):
    """The quote of a sale by sale_sql from a cache entry, or CheckoutRefused."""
    if not sells_by_sql(entry.sku):
        raise _NotByCodes
    if not entry.on_sale:
        raise CheckoutRefused(_("This item is not on sale right now."))
    try:
        quote = sale_cache.quote(entry, buyer=buyer, quantity=quantity, at=at)
    except DomainError as exc:  # quantity outside the SKU's limits, ...
        raise CheckoutRefused(exc.message, **exc.extra) from exc
    return quote


def _claim_before_the_sale(
    *, sku: Sku, buyer, quantity: int, quote, at, blacklist: Wanted
) -> Reserved:
    """What marketing's layers promised (a flash sale's units), claimed first,
    as place_order claims before the ORM path's debit (docs/architecture.md,
    "Lock order"): the order's id and number reserved for the claims to name.
    A refused claim asks the blacklist (the debit asks it otherwise), so a
    blocked buyer hears of the block first, as on the ORM path."""
    reserved = reserve_order(at)
    ref = OrderRef(
        order_id=reserved.order_id,
        order_no=reserved.order_no,
        buyer_id=buyer.pk,
        sku_id=sku.pk,
        product_id=sku.product_id,
        category_id=sku.product.category_id,
        quantity=quantity,
        amount=quote.total,
        at=at,
    )
    try:
        claim_benefits(order=ref, quote=quote, options={})
    except DomainError as exc:  # sold out, over the buyer's limit, ended
        if kind := blocking_kind(blacklist):
            raise blacklist_refusal(kind) from exc
        raise CheckoutRefused(exc.message, **exc.extra) from exc
    return reserved


def _buy_codes(*, sku: Sku, quantity: int, buyer, blacklist) -> Order:
    """Quote from the sale cache and sell by sale_sql. The cache may be behind
    the database, never ahead of it: a sale that finds the SKU changed since
    (StaleCatalog) rolls back and is quoted again from a fresh entry, and so is
    a refusal (off sale, quantity) before it is final."""
    entry, fresh = sale_entry(sku.pk, version=sku.sale_version), False
    for _attempt in range(3):
        now = timezone.now()
        try:
            quote = _quote_codes(entry, buyer=buyer, quantity=quantity, at=now)
        except CheckoutRefused:
            if fresh:
                raise
            entry, fresh = fresh_entry(sku.pk), True
            continue
        try:
            with transaction.atomic():
                reserved = None
                if involves_marketing(quote):
                    reserved = _claim_before_the_sale(
                        sku=entry.sku,
                        buyer=buyer,
                        quantity=quantity,
                        quote=quote,
                        at=now,
                        blacklist=blacklist,
                    )
                sale = sell_codes(
                    sku=entry.sku,
                    version=entry.version,
                    buyer=buyer,
                    quantity=quantity,
                    unit_price=quote.unit_price,
                    amount=quote.total,
                    price_breakdown=quote.as_dict(),
                    blacklist=blacklist,
                    at=now,
                    reserved=reserved,
                )
                # After commit, in the ORM path's order. sell_codes wrote
                # order_paid's outbox row (with buyer, amount, method and
                # category): only the worker's wake-up is left.
                check_stock_after_sale(sku=entry.sku, stock=sale.stock)
                send_after_commit(events.order_delivered, order_id=sale.order.pk)
                wake_after_commit(events.order_paid)
            return sale.order
        except StaleCatalog:
            entry, fresh = fresh_entry(sku.pk), True
        except NumberTaken:
            continue  # claims named a number drawn twice: all of it again
    raise CheckoutRefused(_("The price is being changed right now: please try again."))


def _settle_from_wallet(*, order: Order, buyer, actor) -> Order:
    """Debit, mark paid and deliver an order its caller holds in this transaction."""
    debit_wallet(
        user=buyer,
        amount=order.amount,
        kind=LedgerEntry.Kind.PURCHASE,
        reference=order.order_no,
        actor=actor,
    )
    return _mark_paid(order=order, method=Order.PaymentMethod.WALLET, actor=actor)


def settle_by_voucher(*, order: Order, actor) -> Order:
    """Mark an order placed to redeem a voucher (amount 0.00, its voucher
    claimed in this transaction: orders.vouchers) paid by the voucher and
    deliver it as any paid order, in the caller's transaction."""
    if order.amount != 0:
        raise CheckoutRefused(_("A voucher pays only for the item it names."))
    return _mark_paid(order=order, method=Order.PaymentMethod.VOUCHER, actor=actor)


def _mark_paid(*, order: Order, method: str, actor) -> Order:
    """Paid, delivered (card codes now, top-ups queued) and announced."""
    order.payment_method = method
    transition_order(
        order=order, to=S.PAID, actor=actor, reason=method, also=("payment_method",)
    )
    deliver_on_payment(order=order, actor=actor)
    send_after_commit(
        events.order_paid,
        order_id=order.pk,
        buyer_id=order.buyer_id,
        amount=order.amount,
        payment_method=order.payment_method,
        category_id=order.sku.product.category_id,  # marketing: category bought
    )
    return order


@transaction.atomic
def cancel_order(*, order: Order, actor=None, reason: str = "") -> Order:
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status == S.CANCELLED:
        return order
    return transition_order(order=order, to=S.CANCELLED, actor=actor, reason=reason)
