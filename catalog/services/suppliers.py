"""Supplier calls, their record, and the circuit breaker.

Every call to a supplier goes through `call_supplier()`: it asks the breaker for
admission, calls the protocol adapter outside any transaction, then records one
SupplierCall row and moves the breaker in one short transaction.

Breaker (per Supplier): CLOSED → OPEN after SUPPLIER_BREAKER_THRESHOLD
consecutive failures; OPEN refuses calls for SUPPLIER_BREAKER_COOLDOWN_SECONDS;
the first call after that flips it to HALF_OPEN and is the one trial (other
callers are still refused until the trial reports, or until another cool-down
passes if the trial never reports); a success closes it, a failure re-opens it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import PriceChange, Sku, Supplier, SupplierCall, SupplierOffer
from catalog.selectors.health import supplier_health
from catalog.services.pricing import apply_cost_plus
from catalog.suppliers import (
    CallbackData,
    SupplierError,
    SupplierResult,
    SupplierUnavailable,
    get_adapter,
)
from kameng import crypto, events
from kameng.exceptions import DomainError

logger = logging.getLogger(__name__)

Operation = SupplierCall.Operation
Outcome = SupplierCall.Outcome
Breaker = Supplier.Breaker
MIN_SIGNING_KEY_LENGTH = 16


class InvalidOfferCost(DomainError):
    code = "catalog_invalid_offer_cost"


class InvalidSigningKey(DomainError):
    code = "catalog_invalid_signing_key"


def breaker_threshold() -> int:
    return max(1, int(getattr(settings, "SUPPLIER_BREAKER_THRESHOLD", 5)))


def breaker_cooldown() -> timedelta:
    return timedelta(
        seconds=float(getattr(settings, "SUPPLIER_BREAKER_COOLDOWN_SECONDS", 60))
    )


def callback_url_for(supplier: Supplier) -> str:
    base = settings.SUPPLIER_CALLBACK_BASE_URL.rstrip("/")
    return base + reverse("supplier-callback", kwargs={"supplier_id": supplier.pk})


# -- credentials -------------------------------------------------------------------
@transaction.atomic
def set_signing_key(*, supplier: Supplier, key: str) -> Supplier:
    """Store a new signing key, encrypted (kameng.crypto). Never logged."""
    key = (key or "").strip()
    if len(key) < MIN_SIGNING_KEY_LENGTH or len(key) > 256:
        raise InvalidSigningKey(
            _("The signing key must be %(min)s to 256 characters long.")
            % {"min": MIN_SIGNING_KEY_LENGTH}
        )
    supplier.secret = crypto.encrypt(key)
    if supplier.pk:
        Supplier.objects.filter(pk=supplier.pk).update(secret=supplier.secret)
    else:
        supplier.save()
    return supplier


# -- the breaker -------------------------------------------------------------------
def _admit(supplier: Supplier) -> None:
    """Raise SupplierUnavailable unless this call may go out now."""
    if not supplier.enabled:
        raise SupplierUnavailable(
            _("Supplier %(name)s is disabled.") % {"name": supplier.name}
        )
    state = Supplier.objects.filter(pk=supplier.pk).values_list(
        "breaker_state", "breaker_changed_at"
    )
    row = state.first()
    if row is None:
        raise SupplierUnavailable(_("The supplier no longer exists."))
    breaker, changed_at = row
    if breaker == Breaker.CLOSED:
        return
    now = timezone.now()
    cutoff = now - breaker_cooldown()
    if changed_at is not None and changed_at > cutoff:
        raise SupplierUnavailable(
            _("Supplier %(name)s is out of rotation (circuit breaker %(state)s).")
            % {"name": supplier.name, "state": Breaker(breaker).label}
        )
    # Cool-down over: exactly one caller wins the trial (compare-and-set).
    won = (
        Supplier.objects.filter(pk=supplier.pk, breaker_state=breaker)
        .filter(Q(breaker_changed_at__isnull=True) | Q(breaker_changed_at__lte=cutoff))
        .update(breaker_state=Breaker.HALF_OPEN, breaker_changed_at=now)
    )
    if not won:
        raise SupplierUnavailable(
            _("Supplier %(name)s is being tried again by another call.")
            % {"name": supplier.name}
        )
    logger.info("supplier %s breaker half-open: trial call", supplier.pk)


def _counts_as_failure(outcome: str, result: SupplierResult | None) -> bool:
    if outcome in (Outcome.SUCCESS, Outcome.PROCESSING):
        return False
    if outcome == Outcome.FAILED:
        return result is None or result.supplier_at_fault
    return True


@transaction.atomic
def record_call(
    *,
    supplier: Supplier,
    offer: SupplierOffer | None,
    operation: str,
    order_no: str,
    outcome: str,
    latency_ms: int,
    http_status: int | None = None,
    detail: str = "",
    failure: bool | None = None,
    moves_breaker: bool = True,
) -> SupplierCall:
    """One SupplierCall row and the breaker move it implies, atomically."""
    call = SupplierCall.objects.create(
        supplier=supplier,
        offer=offer,
        operation=operation,
        order_no=order_no[:40],
        outcome=outcome,
        latency_ms=max(0, int(latency_ms)),
        http_status=http_status,
        detail=detail[:300],
    )
    if not moves_breaker:
        return call
    if failure is None:
        failure = _counts_as_failure(outcome, None)
    locked = Supplier.objects.select_for_update().get(pk=supplier.pk)
    now = timezone.now()
    fields = ["consecutive_failures"]
    if failure:
        locked.consecutive_failures += 1
        opens = locked.breaker_state == Breaker.HALF_OPEN or (
            locked.breaker_state == Breaker.CLOSED
            and locked.consecutive_failures >= breaker_threshold()
        )
        if opens:
            locked.breaker_state = Breaker.OPEN
            locked.breaker_changed_at = now
            fields += ["breaker_state", "breaker_changed_at"]
            logger.warning(
                "supplier %s breaker opened after %s consecutive failures",
                supplier.pk,
                locked.consecutive_failures,
            )
    else:
        locked.consecutive_failures = 0
        if locked.breaker_state != Breaker.CLOSED:
            locked.breaker_state = Breaker.CLOSED
            locked.breaker_changed_at = now
            fields += ["breaker_state", "breaker_changed_at"]
            logger.info("supplier %s breaker closed", supplier.pk)
    locked.save(update_fields=fields)
    supplier.breaker_state = locked.breaker_state
    supplier.breaker_changed_at = locked.breaker_changed_at
    supplier.consecutive_failures = locked.consecutive_failures
    return call


@transaction.atomic
def reset_breaker(*, supplier: Supplier, actor=None) -> Supplier:
    """Operator override: put the supplier back in rotation now."""
    locked = Supplier.objects.select_for_update().get(pk=supplier.pk)
    locked.breaker_state = Breaker.CLOSED
    locked.breaker_changed_at = timezone.now()
    locked.consecutive_failures = 0
    locked.save(
        update_fields=["breaker_state", "breaker_changed_at", "consecutive_failures"]
    )
    logger.info(
        "supplier %s breaker reset by %s", supplier.pk, getattr(actor, "pk", None)
    )
    return locked


# -- calls -------------------------------------------------------------------------
def call_supplier(
    *,
    offer: SupplierOffer,
    operation: str,
    order_no: str,
    quantity: int = 1,
    account: dict | None = None,
    callback_url: str | None = None,
) -> SupplierResult:
    """Submit an order to (or query it at) the offer's supplier.

    Returns the supplier's answer (success / processing / failed). Raises a
    SupplierError subclass when there is no usable answer (SupplierTimeout,
    SupplierUnreachable, SupplierBadResponse, SupplierRejected) or when the call
    was not made (SupplierUnavailable: disabled, breaker open, no key). Every call
    that went out is recorded as a SupplierCall, also the failed ones.

    Must not run inside a transaction: a network call never holds a database lock.
    """
    if operation not in (Operation.SUBMIT, Operation.QUERY):
        raise ValueError(f"unsupported operation {operation!r}")
    supplier = offer.supplier
    _admit(supplier)
    try:
        adapter = get_adapter(supplier)
    except SupplierUnavailable:
        # A trial that cannot even start must not keep the breaker half-open.
        record_call(
            supplier=supplier,
            offer=offer,
            operation=operation,
            order_no=order_no,
            outcome=Outcome.ERROR,
            latency_ms=0,
            detail=_("No usable signing key or protocol."),
            failure=True,
        )
        raise
    started = time.monotonic()
    try:
        if operation == Operation.SUBMIT:
            result = adapter.submit(
                order_no=order_no,
                supplier_sku=offer.supplier_sku,
                quantity=quantity,
                account=account or {},
                callback_url=callback_url or callback_url_for(supplier),
            )
        else:
            result = adapter.query(order_no=order_no)
    except SupplierError as exc:
        latency = int((time.monotonic() - started) * 1000)
        record_call(
            supplier=supplier,
            offer=offer,
            operation=operation,
            order_no=order_no,
            outcome=exc.outcome,
            latency_ms=latency,
            http_status=exc.http_status,
            detail=str(exc.message),
            failure=True,
        )
        raise
    latency = int((time.monotonic() - started) * 1000)
    record_call(
        supplier=supplier,
        offer=offer,
        operation=operation,
        order_no=order_no,
        outcome=result.status,
        latency_ms=latency,
        http_status=result.http_status,
        detail=" ".join(filter(None, [result.code, result.message, result.trade_no])),
        failure=_counts_as_failure(result.status, result),
    )
    return result


def receive_callback(
    *,
    supplier: Supplier,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
) -> CallbackData:
    """A supplier's callback about one of our orders, as it arrived over HTTP.

    Verified by the supplier's protocol adapter (SupplierUnavailable when we hold
    no key to verify it with, CallbackRejected when the signature, the timestamp
    or the body is wrong; nothing is recorded then). A verified callback is
    recorded as a SupplierCall, and `events.supplier_callback` goes out after
    commit for the order's fulfilment to act on. Returns what the supplier said."""
    data = get_adapter(supplier).verify_callback(
        method=method, path=path, headers=headers, body=body
    )
    with transaction.atomic():
        call = record_callback(supplier=supplier, data=data)
        transaction.on_commit(
            lambda: events.supplier_callback.send(
                sender=Supplier,
                supplier_id=supplier.pk,
                order_no=data.order_no,
                status=data.status,
                trade_no=data.trade_no,
                message=data.message,
                call_id=call.pk,
            )
        )
    return data


def record_callback(*, supplier: Supplier, data: CallbackData) -> SupplierCall:
    """A verified callback: recorded (it does not move the breaker: the supplier
    called us, which says nothing about calls to it)."""
    offer_id = (
        SupplierCall.objects.filter(
            supplier=supplier, order_no=data.order_no[:40], operation=Operation.SUBMIT
        )
        .order_by("-id")
        .values_list("offer_id", flat=True)
        .first()
    )
    offer = SupplierOffer(pk=offer_id) if offer_id else None
    return record_call(
        supplier=supplier,
        offer=offer,
        operation=Operation.CALLBACK,
        order_no=data.order_no,
        outcome=data.status,
        latency_ms=0,
        http_status=None,
        detail=" ".join(filter(None, [data.trade_no, data.message])),
        moves_breaker=False,
    )


# -- choosing offers ---------------------------------------------------------------
def healthy_offers(*, sku: Sku, prefer_fastest: bool = False) -> list[SupplierOffer]:
    """Offers to try for a SKU, best first: enabled offers of enabled suppliers
    whose breaker admits a call (closed; or open/half-open with the cool-down over,
    where the call becomes the one trial). By priority (then id); with
    `prefer_fastest` (VIP buyers) by the supplier's recent p50 latency first,
    suppliers without recent calls after those with, priority breaking ties."""
    cutoff = timezone.now() - breaker_cooldown()
    offers = list(
        SupplierOffer.objects.filter(sku=sku, enabled=True, supplier__enabled=True)
        .filter(
            Q(supplier__breaker_state=Breaker.CLOSED)
            | Q(supplier__breaker_changed_at__isnull=True)
            | Q(supplier__breaker_changed_at__lte=cutoff)
        )
        .select_related("supplier")
        .order_by("priority", "id")
    )
    if prefer_fastest and len(offers) > 1:
        health = supplier_health(supplier_ids={o.supplier_id for o in offers})

        def speed(offer):
            p50 = (
                health[offer.supplier_id].p50_ms
                if offer.supplier_id in health
                else None
            )
            return (p50 is None, p50 or 0, offer.priority, offer.pk)

        offers.sort(key=speed)
    return offers


# -- offers and their cost -----------------------------------------------------------
def _clean_cost(cost) -> Decimal:
    try:
        cost = Decimal(cost)
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise InvalidOfferCost(
            _("Cost %(value)s is not a number.") % {"value": cost}
        ) from exc
    if not cost.is_finite() or cost < 0 or cost.as_tuple().exponent < -2:
        raise InvalidOfferCost(
            _("Cost must be zero or more with at most 2 decimals, not %(value)s.")
            % {"value": cost}
        )
    if cost >= Decimal("1e12"):
        raise InvalidOfferCost(_("Cost %(value)s is too large.") % {"value": cost})
    return cost


@transaction.atomic
def save_offer(*, offer: SupplierOffer, actor=None) -> SupplierOffer:
    """Save a new or edited offer (the instance holds the new values, as a form
    leaves it) and re-price the SKUs it touches through pricing's cost-plus.

    The stored row is locked and read before the save, so the price history
    names the offer's true old cost ("47.13 → 45.00"); a save that leaves the
    cost, the SKU and the enabled flag as they were re-prices nothing."""
    offer.cost = _clean_cost(offer.cost)
    stored = (
        SupplierOffer.objects.select_for_update()
        .filter(pk=offer.pk)
        .values("sku_id", "cost", "enabled")
        .first()
        if offer.pk
        else None
    )
    offer.save()
    if stored is None:
        reprice_skus(sku_ids=[offer.sku_id], actor=actor)
    elif stored["sku_id"] != offer.sku_id:
        reprice_skus(sku_ids=[stored["sku_id"], offer.sku_id], actor=actor)
    elif stored["cost"] != offer.cost:
        _apply_cost_plus(
            sku=offer.sku,
            actor=actor,
            note=_("Offer %(offer)s cost %(old)s → %(new)s")
            % {"offer": str(offer), "old": stored["cost"], "new": offer.cost},
        )
    elif stored["enabled"] != offer.enabled:
        reprice_skus(sku_ids=[offer.sku_id], actor=actor)
    return offer


@transaction.atomic
def delete_offer(*, offer: SupplierOffer, actor=None) -> None:
    """Remove an offer; its SKU's cost may now come from another offer."""
    sku_id = offer.sku_id
    offer.delete()
    reprice_skus(sku_ids=[sku_id], actor=actor)


def update_offer_cost(
    *, offer: SupplierOffer, cost: Decimal, actor=None
) -> SupplierOffer:
    """Change only an offer's cost (save_offer() re-prices the SKU). A failed
    re-price leaves the old cost."""
    cost = _clean_cost(cost)
    with transaction.atomic():
        locked = SupplierOffer.objects.select_for_update().get(pk=offer.pk)
        locked.cost = cost
        save_offer(offer=locked, actor=actor)
    offer.cost = cost
    return locked


@transaction.atomic
def reprice_skus(*, sku_ids, actor=None) -> None:
    """Re-price SKUs whose set of offers changed (an offer added, removed,
    enabled or disabled): their cheapest cost may be another one now."""
    for sku in Sku.objects.filter(pk__in=list(sku_ids)).order_by("pk"):
        _apply_cost_plus(sku=sku, actor=actor, note=_("Supplier offers changed"))


def _apply_cost_plus(*, sku: Sku, actor, note: str) -> None:
    apply_cost_plus(
        sku=sku, cause=PriceChange.Cause.COST_CHANGE, actor=actor, note=note
    )
