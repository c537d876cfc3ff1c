"""Reads of orders for pages: the buyer's delivered codes, timelines, queues."""

from __future__ import annotations

from functools import cache

from django.contrib.auth.hashers import check_password, make_password
from django.db.models import QuerySet

from catalog.models import CardCode
from kameng import crypto
from kameng.fields import contact_match
from orders.models import Order


def delivered_codes(*, order: Order) -> list[str]:
    """The card codes sold to this order, decrypted, in the order they were taken
    (ids kept on the order: a reusable code is sold to many orders)."""
    if order.status not in {
        Order.Status.DELIVERED,
        Order.Status.AFTER_SALES,
        Order.Status.PARTIALLY_REFUNDED,
    }:
        return []
    ids = order.delivery.get("code_ids", [])
    # only the ciphertexts: building whole CardCode rows cost the order page
    # about as much as decrypting them (issue 12)
    secrets = dict(CardCode.objects.filter(pk__in=set(ids)).values_list("pk", "secret"))
    return [crypto.decrypt(secrets[pk]) for pk in ids]


def manual_queue() -> QuerySet[Order]:
    """Paid manual orders waiting for staff, oldest first."""
    return (
        Order.objects.filter(status=Order.Status.PAID, sku__delivery_type="manual")
        .select_related("sku__product", "buyer")
        .order_by("paid_at", "id")
    )


@cache
def _dummy_hash() -> str:
    return make_password("kameng-no-such-order")


def find_guest_order(*, order_no: str, contact: str, password: str) -> Order | None:
    """Order lookup without login: all three must match; the same None for a wrong
    number, contact or password, so nothing can be learnt by trying. The contact
    is encrypted: it matches through its blind index (the same phone however
    spaced, the same e-mail however cased)."""
    order = (
        Order.objects.filter(
            contact_match("contact", contact), order_no=order_no.strip()
        )
        .select_related("sku__product")
        .first()
    )
    if order is None or not order.lookup_password:
        check_password(password, _dummy_hash())  # the same work either way
        return None
    return order if check_password(password, order.lookup_password) else None
