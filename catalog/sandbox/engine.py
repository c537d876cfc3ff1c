"""What the sandbox supplier does, apart from HTTP parsing: keys, orders, rolls,
callbacks. Used by catalog.sandbox.views and the callback task."""

from __future__ import annotations

import json
import logging
import random
import secrets
import urllib.error
import urllib.parse
import urllib.request

from django.db import (
    IntegrityError,
    close_old_connections,
    transaction,
)
from django.utils import timezone

from catalog.models import SandboxOrder, SandboxProfile, Supplier
from catalog.suppliers import signing
from kameng import crypto

logger = logging.getLogger(__name__)

CALLBACK_TIMEOUT_SECONDS = 5
SIMULATED_FAILURE = "Sandbox: simulated supplier failure"


def merchant_keys(merchant_id: str) -> list[str]:
    """Signing keys of the sandbox suppliers with this merchant id (usually one)."""
    keys = []
    tokens = Supplier.objects.filter(
        is_sandbox=True, merchant_id=merchant_id
    ).values_list("secret", flat=True)
    for token in tokens:
        if not token:
            continue
        try:
            keys.append(crypto.decrypt(token))
        except crypto.InvalidToken:
            logger.warning("sandbox: undecryptable key for merchant %s", merchant_id)
    return keys


def profile_for(merchant_id: str) -> SandboxProfile:
    """The merchant's knobs; an unsaved default profile when none is configured."""
    return SandboxProfile.objects.filter(
        merchant_id=merchant_id
    ).first() or SandboxProfile(merchant_id=merchant_id)


def roll(rate) -> bool:
    return random.random() < float(rate)  # noqa: S311 - simulation, not security


def new_trade_no() -> str:
    return "SB" + timezone.now().strftime("%Y%m%d%H%M%S") + secrets.token_hex(6)


def order_state(order: SandboxOrder) -> dict:
    state = {
        "order_no": order.order_no,
        "status": order.status,
        "trade_no": order.trade_no,
        "message": "",
        "code": "",
    }
    if order.status == SandboxOrder.Status.FAILED:
        state.update(message=SIMULATED_FAILURE, code="supplier_error")
    return state


def place_order(
    *, merchant_id: str, profile: SandboxProfile, fields: dict
) -> tuple[SandboxOrder, bool, str | None]:
    """Create the order, or return the existing one for this (merchant, order_no).

    Returns (order, created, final_status_for_callback). The outcome is rolled
    once, at creation; a repeated submit gets the stored state back."""
    final = (
        SandboxOrder.Status.FAILED
        if roll(profile.failure_rate)
        else SandboxOrder.Status.SUCCESS
    )
    status = (
        SandboxOrder.Status.PROCESSING if profile.processing_then_callback else final
    )
    try:
        with transaction.atomic():
            order = SandboxOrder.objects.create(
                merchant_id=merchant_id,
                order_no=fields["order_no"],
                supplier_sku=fields["sku"],
                quantity=fields["quantity"],
                account=fields["account"],
                callback_url=fields["callback_url"],
                status=status,
                trade_no=new_trade_no(),
            )
    except IntegrityError:
        order = SandboxOrder.objects.get(
            merchant_id=merchant_id, order_no=fields["order_no"]
        )
        return order, False, None
    pending = final if status == SandboxOrder.Status.PROCESSING else None
    return order, True, pending


def complete_order(*, order_id: int, final_status: str) -> SandboxOrder | None:
    SandboxOrder.objects.filter(
        pk=order_id, status=SandboxOrder.Status.PROCESSING
    ).update(status=final_status, updated_at=timezone.now())
    return SandboxOrder.objects.filter(pk=order_id).first()


def complete_and_call_back(*, order_id: int, final_status: str, copies: int) -> int:
    """Move the order to its final state and POST the signed callback `copies`
    times (each with a fresh nonce, as a supplier retrying would). Returns how many
    callbacks were answered 2xx."""
    close_old_connections()
    order = complete_order(order_id=order_id, final_status=final_status)
    if order is None or not order.callback_url:
        return 0
    keys = merchant_keys(order.merchant_id)
    if not keys:
        logger.warning("sandbox: merchant %s has no key left", order.merchant_id)
        return 0
    body = json.dumps(order_state(order), separators=(",", ":")).encode("utf-8")
    path = urllib.parse.urlsplit(order.callback_url).path
    delivered = 0
    for _copy in range(max(1, copies)):
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            **signing.sign(
                key=keys[0],
                merchant=order.merchant_id,
                method="POST",
                path=path,
                body=body,
            ),
        }
        request = urllib.request.Request(
            order.callback_url, data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(  # noqa: S310 - http(s) checked on submit
                request, timeout=CALLBACK_TIMEOUT_SECONDS
            ) as response:
                delivered += 200 <= response.status < 300
        except (urllib.error.URLError, OSError) as exc:
            logger.warning(
                "sandbox: callback for %s to %s failed: %s",
                order.order_no,
                order.callback_url,
                exc,
            )
    return delivered
