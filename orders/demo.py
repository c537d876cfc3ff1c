"""Demo data: 90 days of order history for the demo buyers, so the back office
looks like a shop that has been running for months.

Written in bulk (a few thousand orders in seconds) but by the shop's own rules:
every purchase and refund is a ledger row and each wallet equals its ledger; card
orders own sold codes; the SKU daily-sales rollup is filled from these orders.
Idempotent: it does nothing when the demo buyers already have orders.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from catalog.demo.products import sample_account
from catalog.models import CardBatch, CardCode, Sku, SkuSalesDay
from kameng import crypto
from orders.models import Order, OrderEvent
from users.levels import BuyerFigures, recompute_buyer_stats
from users.models import LedgerEntry, User, Wallet

DAYS = 90
S = Order.Status


def _path(delivery_type: str, rng) -> list[str]:
    """The statuses one demo order went through."""
    roll = rng.random()
    if roll < 0.04:
        return [S.PENDING_PAYMENT, S.CANCELLED]
    if delivery_type == Sku.DeliveryType.TOPUP:
        if roll < 0.07:
            return [S.PENDING_PAYMENT, S.PAID, S.DELIVERING, S.FAILED, S.REFUNDED]
        return [S.PENDING_PAYMENT, S.PAID, S.DELIVERING, S.DELIVERED]
    if roll < 0.06:
        return [S.PENDING_PAYMENT, S.PAID, S.DELIVERED, S.AFTER_SALES, S.REFUNDED]
    return [S.PENDING_PAYMENT, S.PAID, S.DELIVERED]


@transaction.atomic
def seed(ctx):
    buyers = list(
        User.objects.filter(username__startswith="buyer", is_staff=False).order_by("id")
    )
    if not buyers or Order.objects.filter(buyer__in=buyers).exists():
        ctx.say("orders: demo history already there" if buyers else "orders: no buyers")
        _growth(buyers, ctx)
        return
    skus = list(Sku.objects.filter(is_active=True).select_related("product"))
    if not skus:
        return
    rng = ctx.rng
    now = timezone.now()
    weights = [rng.randint(1, 10) for _ in skus]
    orders, paths = [], []
    for day in range(DAYS, -1, -1):
        base = now - timedelta(days=day)
        weekend = 1.5 if base.weekday() >= 5 else 1.0
        for _ in range(round(rng.randint(25, 45) * weekend)):
            sku = rng.choices(skus, weights)[0]
            buyer = rng.choice(buyers)
            quantity = rng.choice([1, 1, 1, 1, 2, 3])
            at = base.replace(
                hour=rng.choice([9, 10, 11, 12, 13, 14, 19, 20, 21, 22, 23]),
                minute=rng.randrange(60),
            )
            if at > now:
                at = now - timedelta(minutes=rng.randrange(1, 120))
            path = _path(sku.delivery_type, rng)
            amount = sku.price * quantity
            orders.append(
                Order(
                    order_no=f"{timezone.localtime(at):%y%m%d}{rng.randrange(10**8):08d}",
                    buyer=buyer,
                    sku=sku,
                    quantity=quantity,
                    unit_price=sku.price,
                    amount=amount,
                    refunded_amount=amount if path[-1] == S.REFUNDED else Decimal(0),
                    price_breakdown={
                        "unit_price": str(sku.price),
                        "total": str(amount),
                        "layers": [{"code": "base", "unit_price": str(sku.price)}],
                    },
                    recharge_account=sample_account(sku, rng),
                    status=path[-1],
                    payment_method=Order.PaymentMethod.WALLET if len(path) > 2 else "",
                    flag=Order.Flag.SUPPLIER_FAILURE if S.FAILED in path else "",
                    paid_at=at + timedelta(seconds=20) if len(path) > 2 else None,
                    delivered_at=at + timedelta(seconds=25)
                    if S.DELIVERED in path
                    else None,
                )
            )
            paths.append((path, at))
    # Order numbers are random: drop the rare clash rather than fail.
    unique = {}
    for order, path in zip(orders, paths, strict=True):
        unique.setdefault(order.order_no, (order, path))
    orders = [o for o, _p in unique.values()]
    paths = [p for _o, p in unique.values()]
    Order.objects.bulk_create(orders, batch_size=1000)
    for order, path in zip(orders, paths, strict=True):
        order.created_at = path[1]
    Order.objects.bulk_update(orders, ["created_at"], batch_size=1000)

    events = [
        OrderEvent(order=order, from_status=src, to_status=dst, reason="demo")
        for order, (path, _at) in zip(orders, paths, strict=True)
        for src, dst in zip(path, path[1:], strict=False)
    ]
    OrderEvent.objects.bulk_create(events, batch_size=2000)
    _ledger(orders, paths, now)
    _codes(orders, paths, ctx)
    _sales(orders, paths)
    ctx.say(f"orders: {len(orders)} orders over the last {DAYS} days")
    _growth(buyers, ctx)


def _growth(buyers, ctx) -> None:
    """The demo buyers' spend, growth and member level from this history (the
    shop's receivers of order_paid do the same one order at a time)."""
    rows = (
        Order.objects.filter(buyer__in=buyers, paid_at__isnull=False)
        .values("buyer_id")
        .annotate(
            spent=Sum(F("amount") - F("refunded_amount")),
            n=Count("id"),
            last=Max("paid_at"),
            wallet=Count("id", filter=Q(payment_method=Order.PaymentMethod.WALLET)),
            gateway=Count("id", filter=Q(payment_method=Order.PaymentMethod.GATEWAY)),
        )
        .order_by()
    )
    figures = {
        row["buyer_id"]: BuyerFigures(
            total_spent=row["spent"],
            order_count=row["n"],
            last_order_at=row["last"],
            wallet_payments=row["wallet"],
            gateway_payments=row["gateway"],
        )
        for row in rows
    }
    changed = recompute_buyer_stats(figures=figures)
    ctx.say(f"orders: growth of {len(figures)} buyers, {changed} levels changed")


def _ledger(orders, paths, now) -> None:
    """A top-up before the history starts, then one row per purchase and refund,
    in time order, so every balance_after is right and balance == ledger."""
    per_wallet = defaultdict(list)
    for order, (path, at) in zip(orders, paths, strict=True):
        if S.PAID not in path:
            continue
        per_wallet[order.buyer_id].append((at, -order.amount, "purchase", order))
        if path[-1] == S.REFUNDED:
            per_wallet[order.buyer_id].append(
                (at + timedelta(minutes=5), order.amount, "refund", order)
            )
    wallets = {w.user_id: w for w in Wallet.objects.filter(user_id__in=per_wallet)}
    rows, final = [], {}
    for user_id, moves in per_wallet.items():
        wallet = wallets.get(user_id) or Wallet.objects.create(user_id=user_id)
        spent = -sum(amount for _at, amount, _k, _o in moves if amount < 0)
        balance = wallet.balance
        start = now - timedelta(days=DAYS + 1)
        rows.append(
            LedgerEntry(
                wallet=wallet,
                amount=spent,
                balance_after=balance + spent,
                kind=LedgerEntry.Kind.TOPUP,
                reference="demo-topup",
                created_at=start,
            )
        )
        balance += spent
        for at, amount, kind, order in sorted(moves, key=lambda m: m[0]):
            balance += amount
            rows.append(
                LedgerEntry(
                    wallet=wallet,
                    amount=amount,
                    balance_after=balance,
                    kind=kind,
                    reference=order.order_no,
                    created_at=at,
                )
            )
        final[wallet.pk] = balance
    stamps = [row.created_at for row in rows]
    LedgerEntry.objects.bulk_create(rows, batch_size=2000)  # auto_now_add wins here
    for row, stamp in zip(rows, stamps, strict=True):
        row.created_at = stamp
    LedgerEntry.objects.bulk_update(rows, ["created_at"], batch_size=2000)
    for wallet_id, balance in final.items():
        Wallet.objects.filter(pk=wallet_id).update(balance=balance)


def _codes(orders, paths, ctx) -> None:
    """Sold codes for the delivered card orders (the buyer's order page shows
    them), in one demo batch per SKU."""
    batches, codes = {}, []
    for order, (path, at) in zip(orders, paths, strict=True):
        if order.sku.delivery_type != Sku.DeliveryType.CARD or S.DELIVERED not in path:
            continue
        if order.sku_id not in batches:
            batches[order.sku_id] = CardBatch.objects.create(
                sku=order.sku,
                file_name="demo-history.txt",
                file_format="txt",
                status=CardBatch.Status.DONE,
                total_rows=0,
            )
        ids = []
        for n in range(order.quantity):
            text = (
                f"{order.sku.code}-{order.order_no}-{n}-{ctx.rng.randrange(10**6):06d}"
            )
            codes.append(
                CardCode(
                    sku=order.sku,
                    batch=batches[order.sku_id],
                    secret=crypto.encrypt(text),
                    code_hash=crypto.code_hash(text),
                    key_version=crypto.current_key_version(),
                    hint=crypto.mask(text),
                    status=CardCode.Status.SOLD,
                    order_ref=order.order_no,
                    sold_at=at + timedelta(seconds=20),
                )
            )
            ids.append(len(codes) - 1)
        order.delivery = {"code_index": ids}
    created = CardCode.objects.bulk_create(codes, batch_size=1000)
    changed = []
    for order in orders:
        if "code_index" in order.delivery:
            order.delivery = {
                "code_ids": [created[i].pk for i in order.delivery["code_index"]]
            }
            changed.append(order)
    Order.objects.bulk_update(changed, ["delivery"], batch_size=1000)
    for sku_id, batch in batches.items():
        count = sum(1 for c in codes if c.sku_id == sku_id)
        CardBatch.objects.filter(pk=batch.pk).update(
            total_rows=count, processed_rows=count, imported=count
        )


def _sales(orders, paths) -> None:
    units = Counter()
    for order, (path, at) in zip(orders, paths, strict=True):
        if S.PAID in path:
            units[(order.sku_id, timezone.localdate(at))] += order.quantity
    existing = {
        (row.sku_id, row.day): row
        for row in SkuSalesDay.objects.filter(sku_id__in={k[0] for k in units})
    }
    new = []
    for (sku_id, day), quantity in units.items():
        if (sku_id, day) in existing:
            SkuSalesDay.objects.filter(pk=existing[(sku_id, day)].pk).update(
                quantity=F("quantity") + quantity
            )
        else:
            new.append(SkuSalesDay(sku_id=sku_id, day=day, quantity=quantity))
    SkuSalesDay.objects.bulk_create(new, batch_size=1000)
