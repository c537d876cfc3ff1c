"""Recommendations in the shop: recently viewed, bought together, promoted.

A signed-in buyer sees, on the shop's home and product pages, the products they
viewed last (users' ProductView trail), products bought together with the one
open or with what they viewed (CoPurchase, rebuilt nightly from paid orders by
`compute_co_purchases`), and products a marketing strategy promoted to them
(marketing.PromotedProduct). A guest sees only what is bought together with the
product open.

Reading costs a fixed number of queries whatever the lists hold (views, pairs,
promoted ids, then the products in one query), and never breaks a page: a
failing read is logged and the page shows no recommendations.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from catalog.models import Product, Sku
from marketing.selectors import promoted_product_ids
from orders.models import CoPurchase, Order
from users.models import ProductView, User

log = logging.getLogger(__name__)

RECENT_SCAN = 30  # newest product views read to find the last distinct products
SEEDS = 5  # recently viewed products whose pairs fill "bought together" on home


# ------------------------------------------------------------------ nightly count


def co_purchase_sql() -> str:
    """Every pair of products bought by the same buyers (paid, not refunded in
    full, within the look-back), counted by buyers, strongest pairs per product
    kept. Names come from model metadata. Runs on PostgreSQL and SQLite alike."""
    orders = Order._meta.db_table
    buyer = Order._meta.get_field("buyer").column
    order_sku = Order._meta.get_field("sku").column
    paid_at = Order._meta.get_field("paid_at").column
    status = Order._meta.get_field("status").column
    skus = Sku._meta.db_table
    sku_id = Sku._meta.pk.column
    sku_product = Sku._meta.get_field("product").column
    pairs = CoPurchase._meta.db_table
    columns = ", ".join(
        CoPurchase._meta.get_field(name).column
        for name in ("product", "other", "buyers", "computed_at")
    )
    return f"""
        INSERT INTO {pairs} ({columns})
        WITH bought AS (
            SELECT DISTINCT o.{buyer} AS buyer_id, s.{sku_product} AS product_id
            FROM {orders} o JOIN {skus} s ON s.{sku_id} = o.{order_sku}
            WHERE o.{buyer} IS NOT NULL
              AND o.{paid_at} >= %(since)s
              AND o.{status} <> %(refunded)s
        ),
        ranked AS (
            SELECT a.product_id AS product_id, b.product_id AS other_id,
                   COUNT(*) AS buyers,
                   ROW_NUMBER() OVER (
                       PARTITION BY a.product_id ORDER BY COUNT(*) DESC, b.product_id
                   ) AS place
            FROM bought a
            JOIN bought b ON b.buyer_id = a.buyer_id AND b.product_id <> a.product_id
            GROUP BY a.product_id, b.product_id
            HAVING COUNT(*) >= %(min_buyers)s
        )
        SELECT product_id, other_id, buyers, %(now)s FROM ranked
        WHERE place <= %(kept)s
    """


@transaction.atomic
def compute_co_purchases(*, now: datetime | None = None) -> int:
    """Rebuild "bought together" from paid orders in one statement; returns the
    number of pairs kept. Readers see the old pairs until the new ones commit."""
    now = now or timezone.now()
    CoPurchase.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(
            co_purchase_sql(),
            {
                "since": now - timedelta(days=settings.RECOMMENDATION_LOOKBACK_DAYS),
                "refunded": Order.Status.REFUNDED,
                "min_buyers": settings.RECOMMENDATION_MIN_BUYERS,
                "kept": settings.RECOMMENDATION_PAIRS_KEPT,
                "now": now,
            },
        )
        return cursor.rowcount


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class Recommendations:
    """Products to show, each list in its order, listed products only."""

    recently_viewed: list[Product] = field(default_factory=list)
    bought_together: list[Product] = field(default_factory=list)
    promoted: list[Product] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.recently_viewed or self.bought_together or self.promoted)


def distinct(ids, *, leave_out=(), limit: int) -> list[int]:
    """The first `limit` ids in order, each once, without those left out."""
    seen = set(leave_out)
    result = []
    for pk in ids:
        if pk not in seen:
            seen.add(pk)
            result.append(pk)
            if len(result) == limit:
                break
    return result


def shop_products(ids) -> dict[int, Product]:
    """Listed products with an active SKU, with their lowest price, by id."""
    return {
        product.pk: product
        for product in Product.objects.filter(
            pk__in=set(ids), status=Product.Status.LISTED
        )
        .select_related("category")
        .annotate(from_price=Min("skus__price", filter=Q(skus__is_active=True)))
        .filter(from_price__isnull=False)
    }


def read_recommendations(
    *, user: User | None, product_id: int | None = None, limit: int | None = None
) -> Recommendations:
    limit = limit or settings.RECOMMENDATION_LIMIT
    signed_in = user is not None and user.is_authenticated
    leave_out = {product_id} if product_id else set()
    viewed: list[int] = []
    promoted: list[int] = []
    if signed_in:
        trail = (
            ProductView.objects.filter(user_id=user.pk)
            .order_by("-id")
            .values_list("product_id", flat=True)[:RECENT_SCAN]
        )
        viewed = distinct(trail, leave_out=leave_out, limit=limit)
        promoted = distinct(
            promoted_product_ids(user_id=user.pk, limit=limit * 2),
            leave_out=leave_out,
            limit=limit,
        )
    seeds = [product_id] if product_id else viewed[:SEEDS]
    together: list[int] = []
    if seeds:
        pairs = (
            CoPurchase.objects.filter(product_id__in=seeds)
            .order_by("-buyers", "other_id")
            .values_list("other_id", flat=True)[: limit * len(seeds) * 2]
        )
        together = distinct(pairs, leave_out={*leave_out, *seeds}, limit=limit * 2)
    if not (viewed or together or promoted):
        return Recommendations()
    products = shop_products([*viewed, *together, *promoted])

    def listed(ids: list[int]) -> list[Product]:
        return [products[pk] for pk in ids if pk in products][:limit]

    return Recommendations(
        recently_viewed=listed(viewed),
        bought_together=listed(together),
        promoted=listed(promoted),
    )


def recommendations_for(
    *, user: User | None, product_id: int | None = None, limit: int | None = None
) -> Recommendations:
    """What a shop page recommends; empty (never an error) when reading fails."""
    try:
        with transaction.atomic():  # a savepoint: a failure leaves the page usable
            return read_recommendations(user=user, product_id=product_id, limit=limit)
    except DatabaseError:
        log.warning("recommendations: not read", exc_info=True)
        return Recommendations()
