from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models.products import Sku


class Supplier(models.Model):
    """An upstream source (货源) reached through a protocol adapter.

    `secret` holds the signing key as a Fernet token (kameng.crypto); the breaker
    fields are written by catalog.services.suppliers only.
    """

    class Protocol(models.TextChoices):
        KAMENG_V1 = "kameng-v1", _("Kameng supplier protocol v1 (JSON, HMAC-SHA256)")

    class Breaker(models.TextChoices):
        CLOSED = "closed", _("Closed (in rotation)")
        OPEN = "open", _("Open (out of rotation)")
        HALF_OPEN = "half_open", _("Half open (trying again)")

    name = models.CharField(_("name"), max_length=80, unique=True)
    protocol = models.CharField(
        _("protocol"), max_length=20, choices=Protocol, default=Protocol.KAMENG_V1
    )
    endpoint = models.URLField(_("API endpoint"), max_length=300)
    merchant_id = models.CharField(_("merchant id"), max_length=64)
    secret = models.TextField(_("signing key (encrypted)"), blank=True, editable=False)
    timeout_seconds = models.DecimalField(
        _("timeout (seconds)"), max_digits=5, decimal_places=2, default=Decimal("5.00")
    )
    is_sandbox = models.BooleanField(
        _("sandbox"),
        default=False,
        help_text=_(
            "Served by the built-in sandbox supplier (demo, tests, benchmarks)."
        ),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    breaker_state = models.CharField(
        _("circuit breaker"),
        max_length=12,
        choices=Breaker,
        default=Breaker.CLOSED,
        editable=False,
    )
    breaker_changed_at = models.DateTimeField(
        _("breaker changed at"), null=True, blank=True, editable=False
    )
    consecutive_failures = models.PositiveIntegerField(
        _("consecutive failures"), default=0, editable=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        ordering = ["name"]

    def __str__(self):
        return self.name


class SupplierOffer(models.Model):
    """Our SKU as sold by one supplier: its code there, its cost, its rank."""

    supplier = models.ForeignKey(
        Supplier,
        on_delete=models.CASCADE,
        related_name="offers",
        verbose_name=_("supplier"),
    )
    sku = models.ForeignKey(
        Sku, on_delete=models.CASCADE, related_name="offers", verbose_name=_("SKU")
    )
    supplier_sku = models.CharField(_("supplier's SKU"), max_length=64)
    cost = models.DecimalField(_("cost"), max_digits=14, decimal_places=2)
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=10, help_text=_("Lower is tried first.")
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("supplier offer")
        verbose_name_plural = _("supplier offers")
        ordering = ["sku_id", "priority", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "sku"], name="catalog_offer_supplier_sku_uniq"
            ),
            models.CheckConstraint(
                condition=Q(cost__gte=0), name="catalog_offer_cost_gte_0"
            ),
        ]

    def __str__(self):
        return f"{self.supplier} · {self.supplier_sku}"


class SupplierCall(models.Model):
    """One recorded request to (or callback from) a supplier: health is computed
    from these rows (rolling success rate, p50/p95 latency)."""

    class Operation(models.TextChoices):
        SUBMIT = "submit", _("Submit order")
        QUERY = "query", _("Query status")
        CALLBACK = "callback", _("Callback")
        BALANCE = "balance", _("Balance")

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Success")
        PROCESSING = "processing", _("Processing")
        FAILED = "failed", _("Failed")
        TIMEOUT = "timeout", _("Timed out")
        ERROR = "error", _("Connection error")
        BAD_RESPONSE = "bad_response", _("Bad response")
        REJECTED = "rejected", _("Rejected (bad signature)")

    supplier = models.ForeignKey(
        Supplier,
        on_delete=models.CASCADE,
        related_name="calls",
        verbose_name=_("supplier"),
    )
    offer = models.ForeignKey(
        SupplierOffer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="calls",
        verbose_name=_("offer"),
    )
    operation = models.CharField(_("operation"), max_length=12, choices=Operation)
    order_no = models.CharField(_("order number"), max_length=40, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    http_status = models.PositiveSmallIntegerField(
        _("HTTP status"), null=True, blank=True
    )
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=False)

    class Meta:
        verbose_name = _("supplier call")
        verbose_name_plural = _("supplier calls")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["supplier", "-created_at"], name="catalog_call_supplier_idx"
            ),
            models.Index(
                fields=["offer", "-created_at"], name="catalog_call_offer_idx"
            ),
            models.Index(fields=["order_no"], name="catalog_call_order_idx"),
        ]

    def __str__(self):
        return (
            f"{self.supplier_id} {self.get_operation_display()}"
            f" {self.get_outcome_display()}"
        )

    @property
    def counts_as_success(self) -> bool:
        return self.outcome in {self.Outcome.SUCCESS, self.Outcome.PROCESSING}


class SandboxProfile(models.Model):
    """Knobs of the built-in sandbox supplier for one merchant id: how slow, how
    flaky and how badly behaved it is. Read by catalog.sandbox on every request."""

    merchant_id = models.CharField(_("merchant id"), max_length=64, unique=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=100)
    failure_rate = models.DecimalField(
        _("failure rate"), max_digits=4, decimal_places=3, default=Decimal("0")
    )
    timeout_rate = models.DecimalField(
        _("timeout rate"), max_digits=4, decimal_places=3, default=Decimal("0")
    )
    garbage_rate = models.DecimalField(
        _("garbage response rate"), max_digits=4, decimal_places=3, default=Decimal("0")
    )
    processing_then_callback = models.BooleanField(
        _("answer 'processing', then call back"), default=False
    )
    callback_delay_ms = models.PositiveIntegerField(
        _("callback delay (ms)"), default=500
    )
    duplicate_callbacks = models.PositiveSmallIntegerField(
        _("extra duplicate callbacks"), default=0
    )
    hang_seconds = models.PositiveSmallIntegerField(
        _("hang (seconds) on a timeout"), default=30
    )

    class Meta:
        verbose_name = _("sandbox supplier profile")
        verbose_name_plural = _("sandbox supplier profiles")
        constraints = [
            models.CheckConstraint(
                condition=Q(failure_rate__gte=0, failure_rate__lte=1)
                & Q(timeout_rate__gte=0, timeout_rate__lte=1)
                & Q(garbage_rate__gte=0, garbage_rate__lte=1),
                name="catalog_sandbox_rates_0_1",
            )
        ]

    def __str__(self):
        return self.merchant_id


class SandboxOrder(models.Model):
    """What the sandbox supplier remembers of an order: its idempotency record."""

    class Status(models.TextChoices):
        PROCESSING = "processing", _("Processing")
        SUCCESS = "success", _("Success")
        FAILED = "failed", _("Failed")

    merchant_id = models.CharField(_("merchant id"), max_length=64)
    order_no = models.CharField(_("order number"), max_length=40)
    supplier_sku = models.CharField(_("supplier's SKU"), max_length=64)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    account = models.JSONField(_("recharge account"), default=dict)
    callback_url = models.URLField(_("callback URL"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status)
    trade_no = models.CharField(_("supplier trade number"), max_length=40, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("sandbox order")
        verbose_name_plural = _("sandbox orders")
        constraints = [
            models.UniqueConstraint(
                fields=["merchant_id", "order_no"], name="catalog_sandbox_order_uniq"
            )
        ]

    def __str__(self):
        return f"{self.merchant_id}/{self.order_no}"
