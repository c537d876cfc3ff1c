"""Demo data: three sandbox suppliers with different manners, offers for the top-up
SKUs, and a day of recorded calls so the health columns show real figures.
Idempotent: suppliers by name, offers by (supplier, SKU); history only once."""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from catalog.models import SandboxProfile, Sku, Supplier, SupplierCall, SupplierOffer
from catalog.services.suppliers import set_signing_key

TOPUP_SKUS = ("WZ-60", "WZ-300", "QD-10", "QD-50", "CM-50", "CM-100", "CU-50", "CU-100")
CALLS_PER_SUPPLIER = 150


@dataclass(frozen=True)
class DemoSupplier:
    name: str
    merchant_id: str
    priority: int
    cost_delta: Decimal  # on top of the SKU's cost price
    knobs: dict
    latency: tuple[int, int]  # mean, spread (ms) of the recorded history
    failure: float  # share of failed answers in the history
    timeouts: float  # share of timeouts in the history


SUPPLIERS = (
    DemoSupplier(
        "快充A",
        "demo-fast-a",
        10,
        Decimal("0.10"),
        {"latency_ms": 100},
        (110, 25),
        0.01,
        0.0,
    ),
    DemoSupplier(
        "慢速B",
        "demo-slow-b",
        20,
        Decimal("0.00"),
        {"latency_ms": 800},
        (820, 160),
        0.02,
        0.01,
    ),
    DemoSupplier(
        "不稳定C",
        "demo-flaky-c",
        30,
        Decimal("0.05"),
        {
            "latency_ms": 300,
            "failure_rate": Decimal("0.200"),
            "processing_then_callback": True,
            "callback_delay_ms": 1500,
            "duplicate_callbacks": 1,
        },
        (320, 90),
        0.18,
        0.04,
    ),
)


def seed(ctx):
    endpoint = settings.SANDBOX_SUPPLIER_URL
    skus = list(Sku.objects.filter(code__in=TOPUP_SKUS).order_by("code"))
    made = offers = history = 0
    for spec in SUPPLIERS:
        supplier, created = Supplier.objects.get_or_create(
            name=spec.name,
            defaults={
                "endpoint": endpoint,
                "merchant_id": spec.merchant_id,
                "is_sandbox": True,
                "timeout_seconds": Decimal("3.00"),
            },
        )
        made += created
        if not supplier.secret:
            set_signing_key(supplier=supplier, key=secrets.token_urlsafe(32))
        SandboxProfile.objects.get_or_create(
            merchant_id=supplier.merchant_id, defaults=spec.knobs
        )
        for sku in skus:
            _offer, was_created = SupplierOffer.objects.get_or_create(
                supplier=supplier,
                sku=sku,
                defaults={
                    "supplier_sku": f"{spec.merchant_id.upper()}-{sku.code}",
                    "cost": sku.cost_price + spec.cost_delta,
                    "priority": spec.priority,
                },
            )
            offers += was_created
        if not supplier.calls.exists():
            history += _history(ctx, supplier, spec)
    ctx.say(
        f"suppliers: {made} sandbox suppliers created, {offers} offers, "
        f"{history} recorded calls (sandbox at {endpoint})"
    )


def _history(ctx, supplier: Supplier, spec: DemoSupplier) -> int:
    """A day of calls, denser in the last hour (the health window)."""
    rng = ctx.rng
    now = timezone.now()
    offers = list(supplier.offers.all())
    calls = []
    for n in range(CALLS_PER_SUPPLIER):
        recent = n % 5 < 2
        age = rng.uniform(0, 3600 if recent else 86400)
        roll = rng.random()
        mean, spread = spec.latency
        latency = max(20, int(rng.gauss(mean, spread)))
        http_status = 200
        if roll < spec.timeouts:
            outcome, latency, http_status = SupplierCall.Outcome.TIMEOUT, 3000, None
            detail = gettext("The supplier did not answer within %(seconds)s s.") % {
                "seconds": "3.00"
            }
        elif roll < spec.timeouts + spec.failure:
            outcome = SupplierCall.Outcome.FAILED
            detail = "supplier_error " + gettext("The supplier reported a failure.")
        elif spec.knobs.get("processing_then_callback"):
            outcome, detail = SupplierCall.Outcome.PROCESSING, ""
        else:
            outcome, detail = SupplierCall.Outcome.SUCCESS, ""
        offer = rng.choice(offers) if offers else None
        calls.append(
            (
                now - timedelta(seconds=age),
                SupplierCall(
                    supplier=supplier,
                    offer=offer,
                    operation=SupplierCall.Operation.SUBMIT,
                    order_no=f"DEMO{rng.randrange(10**9):09d}",
                    outcome=outcome,
                    latency_ms=latency,
                    http_status=http_status,
                    detail=detail,
                ),
            )
        )
    calls.sort(key=lambda pair: pair[0])
    rows = SupplierCall.objects.bulk_create([call for _at, call in calls])
    for (at, _call), row in zip(calls, rows, strict=True):
        row.created_at = at
    SupplierCall.objects.bulk_update(rows, ["created_at"], batch_size=500)
    return len(rows)
