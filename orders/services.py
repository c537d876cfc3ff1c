"""Every write to an order: placing it, paying, delivering, refunding, tickets.

One transition table (ALLOWED), one function that applies it (transition_order)
and writes the timeline row. Signals leave only after commit, with ids.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.exceptions import NotEnoughCodes
from catalog.models import Product, Sku
from catalog.services.codes import count_sale, take_codes
from catalog.services.pricing import quote_price
from kameng import events
from kameng.exceptions import DomainError
from orders.exceptions import CheckoutRefused, IllegalTransition, RefundRefused, SoldOut
from orders.models import Order, OrderEvent, Ticket, TicketMessage
from users.models import LedgerEntry
from users.services import credit_wallet, debit_wallet

S = Order.Status
ALLOWED: dict[str, set[str]] = {
    S.PENDING_PAYMENT: {S.PAID, S.CANCELLED},
    S.PAID: {S.DELIVERING, S.DELIVERED, S.FAILED, S.REFUNDED, S.AFTER_SALES},
    S.DELIVERING: {S.DELIVERED, S.FAILED},
    S.DELIVERED: {S.AFTER_SALES, S.REFUNDED, S.PARTIALLY_REFUNDED},
    S.FAILED: {S.REFUNDED, S.DELIVERING},
    S.AFTER_SALES: {S.DELIVERED, S.REFUNDED, S.PARTIALLY_REFUNDED},
    S.PARTIALLY_REFUNDED: {S.REFUNDED, S.AFTER_SALES},
    S.CANCELLED: set(),
    S.REFUNDED: set(),
}


def transition_order(
    *, order: Order, to: str, actor=None, reason: str = "", also: tuple = ()
) -> Order:
    """Move `order` (locked by the caller) to `to`, or raise IllegalTransition.
    Writes the OrderEvent in the caller's transaction; `also` names fields the
    caller changed on the instance, saved in the same UPDATE."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("transition_order must run inside a transaction")
    if to not in ALLOWED[order.status]:
        raise IllegalTransition(
            _("Order %(no)s cannot go from %(src)s to %(dst)s.")
            % {
                "no": order.order_no,
                "src": S(order.status).label,
                "dst": S(to).label,
            },
            src=order.status,
            dst=to,
        )
    OrderEvent.objects.create(
        order=order,
        from_status=order.status,
        to_status=to,
        actor=actor,
        reason=reason[:300],
    )
    now = timezone.now()
    order.status = to
    fields = ["status", "updated_at", *also]
    if to == S.PAID:
        order.paid_at = now
        fields.append("paid_at")
    elif to == S.DELIVERED:
        order.delivered_at = now
        fields.append("delivered_at")
    order.save(update_fields=fields)
    return order


def send_after_commit(signal, **kwargs) -> None:
    """Send one of kameng.events once the current transaction has committed."""
    transaction.on_commit(lambda: signal.send(sender=Order, **kwargs))


def new_order_no(at=None) -> str:
    """Date first (operators read it), then 8 random digits: unique in practice,
    and not a counter anyone could walk through."""
    local = timezone.localtime(at or timezone.now())
    return f"{local:%y%m%d}{secrets.randbelow(10**8):08d}"


def place_order(
    *,
    sku: Sku,
    quantity: int,
    buyer=None,
    contact: str = "",
    lookup_password: str = "",
    recharge_account: dict | None = None,
) -> Order:
    """A pending order at today's price. Refuses (CheckoutRefused, nothing written)
    a SKU off sale, a quantity outside its limits, a bad recharge account."""
    now = timezone.now()
    sku = Sku.objects.select_related("product").get(pk=sku.pk)
    if not sku.is_active or sku.product.status != Product.Status.LISTED:
        raise CheckoutRefused(_("This item is not on sale right now."))
    if buyer is None and not contact.strip():
        raise CheckoutRefused(_("Guests must leave an email or phone number."))
    account = {}
    if sku.delivery_type == Sku.DeliveryType.TOPUP or sku.recharge_fields:
        from django.core.exceptions import ValidationError

        from catalog.recharge import validate_recharge_fields

        try:
            account = validate_recharge_fields(sku=sku, data=recharge_account or {})
        except ValidationError as exc:
            raise CheckoutRefused(
                " ".join(exc.messages), fields=getattr(exc, "message_dict", {})
            ) from exc
    try:
        quote = quote_price(sku=sku, buyer=buyer, quantity=quantity, at=now)
    except DomainError as exc:  # quantity outside the SKU's limits, ...
        raise CheckoutRefused(exc.message, **exc.extra) from exc
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


@transaction.atomic
def buy_with_wallet(
    *, sku: Sku, quantity: int, buyer, recharge_account: dict | None = None
) -> Order:
    """The storefront's wallet checkout: place the order and pay it from the
    buyer's balance in one transaction. A refusal (off sale, sold out, short of
    balance) rolls all of it back: nothing charged, no pending order left behind.

    The order is new in this transaction, so no other can see it, let alone pay
    it: it needs no row lock, and the buyer is the one already loaded."""
    if buyer is None:
        raise CheckoutRefused(_("Log in to pay with your balance."))
    order = place_order(
        sku=sku, quantity=quantity, buyer=buyer, recharge_account=recharge_account
    )
    return _settle_from_wallet(order=order, buyer=buyer, actor=buyer)


def _settle_from_wallet(*, order: Order, buyer, actor) -> Order:
    """Debit, mark paid and deliver an order its caller holds in this transaction."""
    debit_wallet(
        user=buyer,
        amount=order.amount,
        kind=LedgerEntry.Kind.PURCHASE,
        reference=order.order_no,
        actor=actor,
    )
    order.payment_method = Order.PaymentMethod.WALLET
    transition_order(
        order=order, to=S.PAID, actor=actor, reason="wallet", also=("payment_method",)
    )
    _deliver_on_payment(order=order, actor=actor)
    send_after_commit(events.order_paid, order_id=order.pk)
    return order


def _deliver_on_payment(*, order: Order, actor) -> None:
    """Card orders are delivered inside the paying transaction; top-ups get their
    outbox row (worked by Celery after commit); manual orders wait in the staff
    queue (status paid)."""
    if order.sku.delivery_type == Sku.DeliveryType.CARD:
        try:
            sold = take_codes(
                sku=order.sku,
                quantity=order.quantity,
                order_ref=order.order_no,
                count=False,
            )
        except NotEnoughCodes as exc:
            raise SoldOut(
                _("Sold out: only %(available)s left.")
                % {"available": exc.extra["available"]},
                **exc.extra,
            ) from exc
        order.delivery = {"code_ids": [code.id for code in sold]}
        transition_order(
            order=order,
            to=S.DELIVERED,
            actor=actor,
            reason="card codes",
            also=("delivery",),
        )
        # Last: the SKU's stock and sales rows are locked by every buyer of it.
        stock = count_sale(sku=order.sku, quantity=order.quantity)
        _check_stock_after_sale(sku=order.sku, stock=stock)
        send_after_commit(events.order_delivered, order_id=order.pk)
    elif order.sku.delivery_type == Sku.DeliveryType.TOPUP:
        from orders.fulfilment import start_fulfilment

        start_fulfilment(order=order)


def _check_stock_after_sale(*, sku: Sku, stock: int | None) -> None:
    """A sale that takes the SKU to its low-stock threshold raises the alert now,
    not at the next minute's beat run (and may pause a sold-out SKU).

    `stock` is what count_sale() left, read under the SKU's row lock, so the sale
    that empties the SKU always sees it (a value read when the order was locked
    can be dozens of concurrent sales old). The check runs after commit."""
    if stock is None or stock > sku.low_stock_threshold:
        return
    from catalog.tasks.inventory import check_stock_alerts_task

    sku_id = sku.pk
    transaction.on_commit(lambda: check_stock_alerts_task.delay(sku_ids=[sku_id]))


@transaction.atomic
def deliver_manually(*, order: Order, actor, note: str) -> Order:
    """Staff hand over a manual order (account details, a shipped code...)."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if not note.strip():
        raise CheckoutRefused(_("Write what was delivered: the buyer reads it."))
    order.delivery = {"note": note.strip()[:2000]}
    transition_order(
        order=order,
        to=S.DELIVERED,
        actor=actor,
        reason=note.strip(),
        also=("delivery",),
    )
    send_after_commit(events.order_delivered, order_id=order.pk)
    return order


@transaction.atomic
def cancel_order(*, order: Order, actor=None, reason: str = "") -> Order:
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status == S.CANCELLED:
        return order
    return transition_order(order=order, to=S.CANCELLED, actor=actor, reason=reason)


@transaction.atomic
def refund_to_wallet(
    *, order: Order, actor=None, amount: Decimal | None = None, reason: str
) -> Order:
    """Give money back to the buyer's wallet, at most what is left to refund.
    The order row is locked, so two refunds racing each other pay out once."""
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("buyer")
        .get(pk=order.pk)
    )
    if order.buyer_id is None:
        raise RefundRefused(_("Guest orders are refunded through the gateway."))
    left = order.amount - order.refunded_amount
    amount = left if amount is None else amount
    if amount <= 0 or amount > left:
        raise RefundRefused(
            _("Refund must be more than 0 and at most %(left)s.") % {"left": left}
        )
    credit_wallet(
        user=order.buyer,
        amount=amount,
        kind=LedgerEntry.Kind.REFUND,
        reference=order.order_no,
        note=reason[:255],
        actor=actor,
    )
    order.refunded_amount += amount
    full = order.refunded_amount == order.amount
    to = S.REFUNDED if full else S.PARTIALLY_REFUNDED
    if order.status != to:
        transition_order(
            order=order, to=to, actor=actor, reason=reason, also=("refunded_amount",)
        )
    else:
        order.save(update_fields=["refunded_amount"])
    send_after_commit(events.order_refunded, order_id=order.pk, amount=amount)
    return order


@transaction.atomic
def open_abnormal_ticket(*, order: Order, flag: str, message: str) -> Ticket:
    """Flag the order and open (or add to) its abnormal-order ticket."""
    Order.objects.filter(pk=order.pk).update(flag=flag)
    ticket = Ticket.objects.filter(
        order=order, kind=Ticket.Kind.ABNORMAL, status__in=["open", "pending"]
    ).first()
    if ticket is None:
        ticket = Ticket.objects.create(
            kind=Ticket.Kind.ABNORMAL,
            order=order,
            subject=_("Order %(no)s: %(flag)s")
            % {"no": order.order_no, "flag": Order.Flag(flag).label},
        )
    TicketMessage.objects.create(ticket=ticket, body=message[:5000])
    return ticket
