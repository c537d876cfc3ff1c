"""Reads of orders for pages: the buyer's delivered codes, timelines, queues."""

from __future__ import annotations

import json
from functools import cache

from django.contrib.auth.hashers import check_password, make_password
from django.db import connection
from django.db.models import QuerySet, TextField
from django.db.models.expressions import RawSQL

from catalog.models import CardCode
from kameng import crypto
from kameng.fields import contact_match
from orders.models import Order


def delivered_codes(*, order: Order) -> list[str]:
    """The card codes sold to this order, decrypted, in the order they were taken
    (ids kept on the order: a reusable code is sold to many orders). An order
    read with `sold_code_secrets()` as `sold_codes` needs no query here."""
    if order.status not in {
        Order.Status.DELIVERED,
        Order.Status.AFTER_SALES,
        Order.Status.PARTIALLY_REFUNDED,
    }:
        return []
    ids = order.delivery.get("code_ids", [])
    read_with_order = getattr(order, "sold_codes", None)
    if read_with_order is not None:
        secrets = dict(json.loads(read_with_order))
    else:
        # only the ciphertexts: building whole CardCode rows cost the order
        # page about as much as decrypting them (issue 12)
        secrets = dict(
            CardCode.objects.filter(pk__in=set(ids)).values_list("pk", "secret")
        )
    return [crypto.decrypt(secrets[pk]) for pk in ids]


def sold_code_secrets() -> RawSQL:
    """An annotation for an Order query: the (id, ciphertext) pairs of the codes
    its delivery names, as JSON text ("[[id, secret], ...]", in no particular
    order: delivered_codes orders them by the delivery's ids), so the order
    page reads its order and codes in one query (issue 12). Names from model
    metadata; the JSON functions are the vendor's."""
    quote = connection.ops.quote_name
    codes, orders = CardCode._meta, Order._meta
    code_id = f"code.{quote(codes.pk.column)}"
    secret = f"code.{quote(codes.get_field('secret').column)}"
    delivery = f"{quote(orders.db_table)}.{quote(orders.get_field('delivery').column)}"
    if connection.vendor == "postgresql":
        ids = f"SELECT jsonb_array_elements_text({delivery} -> 'code_ids')::bigint"
        pairs = f"COALESCE(json_agg(json_build_array({code_id}, {secret})), '[]')::text"
    else:  # SQLite's JSON1 (built in since 3.38)
        ids = f"SELECT value FROM json_each({delivery}, '$.code_ids')"
        pairs = f"json_group_array(json_array({code_id}, {secret}))"
    return RawSQL(
        f"(SELECT {pairs} FROM {quote(codes.db_table)} AS code "
        f"WHERE {code_id} IN ({ids}))",
        (),
        output_field=TextField(),
    )


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
