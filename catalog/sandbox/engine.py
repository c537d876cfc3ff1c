"""What the sandbox supplier does, apart from HTTP parsing: keys, orders, rolls,
callbacks. Used by catalog.sandbox.views and the callback task."""

from __future__ import annotations

import json
import logging
import random
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from django.db import (
    IntegrityError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.utils import timezone

from catalog.models import SandboxOrder, SandboxProfile, Supplier
from catalog.suppliers import signing
from kameng import crypto

logger = logging.getLogger(__name__)

CALLBACK_TIMEOUT_SECONDS = 5
THREAD_DB_ATTEMPTS = 5
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


def schedule_callback(*, order: SandboxOrder, final_status: str, profile) -> None:
    """Complete a 'processing' order later and call back: a Celery task with a
    countdown on the full stack, a timer thread when Celery runs eagerly (the
    embedded default and tests) so the answer is not held up."""
    from kameng.celery import app as celery_app

    delay = profile.callback_delay_ms / 1000
    copies = 1 + profile.duplicate_callbacks
    if celery_app.conf.task_always_eager:
        timer = threading.Timer(
            delay, _complete_in_thread, args=(order.pk, final_status, copies)
        )
        timer.daemon = True
        timer.start()
        return
    from catalog.tasks.suppliers import sandbox_callback

    sandbox_callback.apply_async(
        kwargs={"order_id": order.pk, "final_status": final_status, "copies": copies},
        countdown=delay,
    )


def _complete_in_thread(order_id: int, final_status: str, copies: int) -> None:
    """Timer-thread body (embedded mode). SQLite may report "locked" while the
    request threads write: the database work is idempotent, so it is retried."""
    try:
        for attempt in range(1, THREAD_DB_ATTEMPTS + 1):
            try:
                complete_and_call_back(
                    order_id=order_id, final_status=final_status, copies=copies
                )
                return
            except OperationalError:
                if attempt == THREAD_DB_ATTEMPTS:
                    raise
                connection.close()
                time.sleep(0.2 * attempt)
    except Exception:  # a background thread has nobody to raise to
        logger.exception("sandbox: callback for order %s failed", order_id)
    finally:
        connection.close()


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
