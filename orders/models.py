import ipaddress
import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kameng.fields import (
    BlindIndexField,
    BlindIndexListField,
    EncryptedJSONField,
    EncryptedTextField,
    IndexedManager,
    Undecryptable,
    blind_index,
    normalise_contact,
)
from kameng.masking import mask_contact

ZERO = Decimal("0.00")


def new_order_no(at=None) -> str:
    """Date first (operators read it), then 8 random digits: unique in practice,
    and not a counter anyone could walk through. Wallet top-ups use the same
    shape behind WalletTopUp.TOPUP_PREFIX."""
    local = timezone.localtime(at or timezone.now())
    return f"{local:%y%m%d}{secrets.randbelow(10**8):08d}"


class Order(models.Model):
    """One SKU × quantity bought by a buyer (or a guest with a contact).

    Status changes only through orders.transitions.transition_order, which checks
    ALLOWED and writes an OrderEvent in the same transaction.
    """

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Pending payment")
        PAID = "paid", _("Paid")
        DELIVERING = "delivering", _("Delivering")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        AFTER_SALES = "after_sales", _("After-sales")
        REFUNDED = "refunded", _("Refunded")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        # A risk-flagged buyer's paid order waits for staff (orders.risk).
        HELD = "held", _("Held for review")
        # A group buy's paid order waits for its group to fill (orders.group_buy).
        WAITING_GROUP = "waiting_group", _("Waiting for the group to fill")

    class PaymentMethod(models.TextChoices):
        WALLET = "wallet", _("Wallet balance")
        GATEWAY = "gateway", _("Payment gateway")
        VOUCHER = "voucher", _("Voucher")  # marketing vouchers: amount 0.00
        POINTS = "points", _("Points")  # the points mall: amount 0.00

    class Flag(models.TextChoices):
        NONE = "", _("None")
        PAYMENT_TIMEOUT = "payment_timeout", _("Payment timeout")
        INVALID_ACCOUNT = "invalid_account", _("Invalid recharge account")
        SUPPLIER_FAILURE = "supplier_failure", _("Supplier failure")
        AMOUNT_MISMATCH = "amount_mismatch", _("Amount mismatch")
        SOLD_OUT = "sold_out", _("Sold out after payment")

    order_no = models.CharField(_("order number"), max_length=24, unique=True)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("buyer"),
    )
    # Contacts encrypted at rest, found by their blind index (kameng.fields,
    # issue 15): `order.contact` / `order.recharge_account` read as plain values.
    contact = EncryptedTextField(
        _("contact"), max_length=120, blank=True, help_text=_("Guest email or phone.")
    )
    contact_index = BlindIndexField(source="contact")
    lookup_password = models.CharField(
        _("lookup password (hashed)"), max_length=128, blank=True, editable=False
    )
    sku = models.ForeignKey(
        "catalog.Sku", on_delete=models.PROTECT, related_name="+", verbose_name=_("SKU")
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    refunded_amount = models.DecimalField(
        _("refunded"), max_digits=14, decimal_places=2, default=ZERO
    )
    price_breakdown = models.JSONField(_("price breakdown"), default=dict)
    recharge_account = EncryptedJSONField(_("recharge account"), blank=True)
    recharge_account_index = BlindIndexListField(source="recharge_account")
    delivery = models.JSONField(
        _("delivery"),
        default=dict,
        blank=True,
        help_text=_(
            "What was handed over: card code ids, a staff note, a trade number."
        ),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status, default=Status.PENDING_PAYMENT
    )
    payment_method = models.CharField(
        _("payment method"), max_length=12, choices=PaymentMethod, blank=True
    )
    flag = models.CharField(
        _("abnormal"), max_length=20, choices=Flag, blank=True, default=Flag.NONE
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # update() of the contact or account without its index is refused.
    objects = IndexedManager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-id"]
        permissions = [
            ("refund_order", _("Can refund orders")),
            ("deliver_order", _("Can deliver manual orders")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="orders_qty_gte_1"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="orders_amount_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0)
                & Q(refunded_amount__lte=models.F("amount")),
                name="orders_refund_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(buyer__isnull=False) | ~Q(contact=""),
                name="orders_buyer_or_contact",
            ),
        ]
        indexes = [
            models.Index(fields=["buyer", "-id"], name="orders_buyer_idx"),
            models.Index(fields=["status", "-id"], name="orders_status_idx"),
            models.Index(
                fields=["created_at"],
                condition=Q(status="pending_payment"),
                name="orders_pending_idx",
            ),
            models.Index(
                fields=["-id"], condition=~Q(flag=""), name="orders_flagged_idx"
            ),
            # The order workbench: newest first, by status and date; exact
            # search by contact's blind index (orders.workbench).
            models.Index(
                fields=["-created_at", "-id"], name="orders_workbench_created_idx"
            ),
            models.Index(
                fields=["status", "-created_at", "-id"],
                name="orders_workbench_status_idx",
            ),
            models.Index(fields=["contact_index"], name="orders_contact_bidx"),
            # Analytics (issue 14): a period's orders by payment time (distinct
            # buyers, raw reads) and the rollup refresh's orders changed since.
            models.Index(fields=["paid_at"], name="orders_paid_at_idx"),
            models.Index(fields=["updated_at"], name="orders_updated_at_idx"),
        ]

    def __str__(self):
        return self.order_no


class OrderEvent(models.Model):
    """One status transition (the order's timeline): from, to, who, why, when."""

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="events", verbose_name=_("order")
    )
    from_status = models.CharField(
        _("from"), max_length=20, choices=Order.Status, blank=True
    )
    to_status = models.CharField(_("to"), max_length=20, choices=Order.Status)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["id"]

    def __str__(self):
        return f"{self.order_id}: {self.from_status} → {self.to_status}"


class OrderNote(models.Model):
    """A staff member's note on an order: internal (staff only) or shown to the
    buyer on the shop's order page."""

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="notes", verbose_name=_("order")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("author"),
    )
    body = models.TextField(_("note"), max_length=2000)
    visible_to_buyer = models.BooleanField(
        _("visible to the buyer"),
        default=False,
        help_text=_("Shown on the buyer's order page in the shop."),
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("order note")
        verbose_name_plural = _("order notes")
        ordering = ["id"]

    def __str__(self):
        return f"{self.order_id}: {self.body[:40]}"


class RefundRequest(models.Model):
    """Money given back for an order: one row per refund, asked by staff (with an
    idempotency key, so a double click or a retry pays once) or made by the system
    (a failed top-up). Above settings.REFUND_APPROVAL_THRESHOLD it waits for a
    second person with orders.approve_refundrequest before money moves."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        REFUNDED = "refunded", _("Refunded")
        REJECTED = "rejected", _("Rejected")
        # A guest's payment goes back through its gateway (orders.payments.refunding).
        AT_GATEWAY = "at_gateway", _("Being refunded at the gateway")
        BY_HAND = "by_hand", _("To refund by hand at the gateway")

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("order")
    )
    key = models.UUIDField(_("request key"), default=uuid.uuid4, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=300)
    void_codes = models.BooleanField(
        _("card codes marked invalid"),
        default=False,
        help_text=_("Staff checked the delivered codes and found them invalid."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved or rejected by"),
    )
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)
    gateway_refund_no = models.CharField(
        _("gateway refund number"),
        max_length=64,
        blank=True,
        help_text=_("The gateway's number for the refund, or finance's reference."),
    )
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-id"]
        permissions = [
            ("approve_refundrequest", _("Can approve refunds above the threshold"))
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="orders_refundreq_amount_gt_0"
            ),
            # Nobody approves their own request.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True)
                | Q(requested_by__isnull=True)
                | ~Q(decided_by=models.F("requested_by")),
                name="orders_refundreq_second_person",
            ),
        ]
        indexes = [
            models.Index(
                fields=["-id"],
                condition=Q(status="pending"),
                name="orders_refundreq_pending_idx",
            ),
            # Finance's list of guest refunds still to finish at a gateway.
            models.Index(
                fields=["-id"],
                condition=Q(status__in=["at_gateway", "by_hand"]),
                name="orders_refundreq_gateway_idx",
            ),
        ]

    def __str__(self):
        return f"{self.order_id} · {self.amount}"


class Ticket(models.Model):
    """An after-sales ticket: opened by a buyer from their order, by staff, or by
    the system on an abnormal order. Status changes through
    orders.aftersales.transition_ticket (its own ALLOWED table)."""

    class Kind(models.TextChoices):
        REFUND = "refund", _("Refund")
        REISSUE = "reissue", _("Reissue")
        COMPLAINT = "complaint", _("Complaint")
        INQUIRY = "inquiry", _("Inquiry")
        ABNORMAL = "abnormal", _("Abnormal order")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        PENDING = "pending", _("Waiting for buyer")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    kind = models.CharField(_("type"), max_length=12, choices=Kind)
    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("order"),
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("opened by buyer"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
        limit_choices_to={"is_staff": True},
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"),
        default=0,
        help_text=_("The buyer's member level rank when opened: VIP tickets first."),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status, default=Status.OPEN
    )
    subject = models.CharField(_("subject"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    first_response_at = models.DateTimeField(
        _("first response at"), null=True, blank=True
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-priority", "-id"]
        permissions = [
            # A lead: sees, answers and assigns every ticket. Agents without it
            # work the unassigned ones and those assigned to them (an object
            # permission, django-guardian, granted by orders.aftersales).
            ("work_all_tickets", _("Can see and work on every ticket"))
        ]
        constraints = [
            # An abnormal order opens one ticket, however often the problem recurs.
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=Q(
                    kind="abnormal", status__in=["open", "in_progress", "pending"]
                ),
                name="orders_one_open_abnormal_ticket",
            )
        ]
        indexes = [
            models.Index(fields=["status", "-id"], name="orders_ticket_status_idx"),
            models.Index(fields=["buyer", "-id"], name="orders_ticket_buyer_idx"),
            models.Index(
                fields=["-priority", "-id"], name="orders_ticket_priority_idx"
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.subject}"


class TicketMessage(models.Model):
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        related_name="messages",
        verbose_name=_("ticket"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
        help_text=_("Empty for messages written by the system."),
    )
    body = models.TextField(_("message"), max_length=5000)
    internal = models.BooleanField(
        _("internal"),
        default=False,
        help_text=_("Staff only; the buyer never sees it."),
    )
    attachment = models.FileField(
        _("image"), upload_to="tickets/%Y/%m/", blank=True, max_length=200
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        ordering = ["id"]

    def __str__(self):
        return f"{self.ticket_id}: {self.body[:40]}"


class Payment(models.Model):
    """Money a payment gateway says it took for an order or a wallet top-up
    (exactly one of the two): recorded once per
    (channel, gateway trade number), whatever happened to the order after.

    `outcome` says what the shop did with it; everything but `settled` and
    `refunded_to_wallet` waits for finance (orders.payments.selectors).
    """

    class Outcome(models.TextChoices):
        SETTLED = "settled", _("Paid the order")
        REFUNDED_TO_WALLET = "refunded_to_wallet", _("Refunded to the wallet")
        AMOUNT_MISMATCH = "amount_mismatch", _("Amount mismatch")
        FOR_FINANCE = "for_finance", _("Waiting for finance")
        TOPPED_UP = "topped_up", _("Credited the wallet top-up")

    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("order"),
    )
    # A payment pays either an order or a wallet top-up (exactly one is set).
    topup = models.ForeignKey(
        "WalletTopUp",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("wallet top-up"),
    )
    channel = models.CharField(_("channel"), max_length=20)
    trade_no = models.CharField(_("gateway trade number"), max_length=64)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome)
    note = models.CharField(_("note"), max_length=300, blank=True)
    raw_notify = models.JSONField(_("gateway message"), default=dict, blank=True)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-id"]
        constraints = [
            # One payment, one record: a replayed or racing notify finds this row.
            models.UniqueConstraint(
                fields=["channel", "trade_no"], name="orders_payment_trade_uniq"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="orders_payment_amount_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(order__isnull=False, topup__isnull=True)
                | Q(order__isnull=True, topup__isnull=False),
                name="orders_payment_order_xor_topup",
            ),
        ]
        indexes = [
            models.Index(
                fields=["-id"],
                condition=Q(outcome__in=["amount_mismatch", "for_finance"]),
                name="orders_payment_review_idx",
            )
        ]

    def __str__(self):
        return f"{self.channel}:{self.trade_no}"


class PaymentAttempt(models.Model):
    """The buyer was sent to a gateway for this order: what the settle-pending
    sweeper asks the gateway about when no notify arrived."""

    class Check(models.TextChoices):
        NONE = "", _("Not asked yet")
        PAID = "paid", _("Paid")
        UNPAID = "unpaid", _("Unpaid")
        UNKNOWN = "unknown", _("Gateway could not tell")

    order = models.ForeignKey(
        Order,
        on_delete=models.CASCADE,
        related_name="payment_attempts",
        verbose_name=_("order"),
    )
    channel = models.CharField(_("channel"), max_length=20)
    created_at = models.DateTimeField(_("sent to gateway at"), auto_now_add=True)
    checked_at = models.DateTimeField(_("last asked at"), null=True, blank=True)
    check_result = models.CharField(
        _("last answer"), max_length=10, choices=Check, blank=True, default=""
    )
    check_note = models.CharField(_("detail"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("payment attempt")
        verbose_name_plural = _("payment attempts")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "channel"], name="orders_payattempt_order_channel"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="orders_payattempt_at_idx")]

    def __str__(self):
        return f"{self.order_id} · {self.channel}"


class Fulfilment(models.Model):
    """The outbox row of a paid top-up: written in the paying transaction, worked
    by Celery after commit, re-enqueued by the sweeper if a message was lost.

    `offer` is the supplier offer being tried; offers given up on (a definite
    failure) are in `tried_offers`. SUBMITTED means a call went out without a clear
    answer (timeout, garbage): the next step asks the supplier before anything is
    sent again, so a top-up is never placed twice.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to submit")
        SUBMITTED = "submitted", _("Submitted, answer unclear")
        PROCESSING = "processing", _("Processing at the supplier")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    order = models.OneToOneField(
        Order,
        on_delete=models.CASCADE,
        related_name="fulfilment",
        verbose_name=_("order"),
    )
    state = models.CharField(
        _("state"), max_length=12, choices=State, default=State.PENDING
    )
    offer = models.ForeignKey(
        "catalog.SupplierOffer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("current offer"),
    )
    tried_offers = models.JSONField(_("offers given up on"), default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts on this offer"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    trade_no = models.CharField(_("supplier trade number"), max_length=64, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("top-up fulfilment")
        verbose_name_plural = _("top-up fulfilments")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "submitted", "processing"]),
                name="orders_fulfilment_due_idx",
            )
        ]

    def __str__(self):
        return f"{self.order_id} {self.get_state_display()}"


class WalletTopUp(models.Model):
    """A buyer adds money to their wallet through a payment gateway.

    Its number starts with TOPUP_PREFIX (order numbers are all digits), so a
    gateway notify is routed by the number alone. Paid only through
    orders.payments.topups, which credits the wallet once per gateway trade.
    """

    TOPUP_PREFIX = "W"

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending payment")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")  # orders.payments.topup_refunds

    class Check(models.TextChoices):
        NONE = "", _("Not asked yet")
        PAID = "paid", _("Paid")
        UNPAID = "unpaid", _("Unpaid")
        UNKNOWN = "unknown", _("Gateway could not tell")

    topup_no = models.CharField(_("top-up number"), max_length=24, unique=True)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="wallet_topups",
        verbose_name=_("buyer"),
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=12, choices=Status, default=Status.PENDING
    )
    channel = models.CharField(_("channel"), max_length=20)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # What the settle-pending sweeper last heard from the gateway.
    checked_at = models.DateTimeField(_("last asked at"), null=True, blank=True)
    check_result = models.CharField(
        _("last answer"), max_length=10, choices=Check, blank=True, default=""
    )
    check_note = models.CharField(_("detail"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("wallet top-up")
        verbose_name_plural = _("wallet top-ups")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="orders_topup_amount_gt_0"
            ),
            models.CheckConstraint(
                condition=Q(topup_no__startswith="W"), name="orders_topup_no_prefix"
            ),
        ]
        indexes = [
            models.Index(fields=["buyer", "-id"], name="orders_topup_buyer_idx"),
            models.Index(
                fields=["created_at"],
                condition=Q(status="pending"),
                name="orders_topup_pending_idx",
            ),
        ]

    def __str__(self):
        return self.topup_no

    @property
    def order_no(self) -> str:
        """The number gateways know it by (their out_trade_no), as for orders."""
        return self.topup_no

    @property
    def payment_subject(self) -> str:
        return str(_("Wallet top-up"))


class SavedOrderFilter(models.Model):
    """A staff member's named set of order workbench filters (the list's query
    string): theirs alone, never shown to anyone else."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_order_filters",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("filters"), max_length=1000)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved order filter")
        verbose_name_plural = _("saved order filters")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], name="orders_savedfilter_owner_name"
            )
        ]

    def __str__(self):
        return self.name


class OrderExport(models.Model):
    """An Excel export of the order workbench's filtered list, written by a
    Celery job (orders.workbench.run_order_export); the file stays downloadable
    by whoever asked for it until the export sweeper removes it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Writing")
        DONE = "done", _("Ready to download")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("requested by"),
    )
    criteria = models.JSONField(_("filters"), default=dict, blank=True)
    with_cost = models.BooleanField(_("with cost columns"), default=False)
    # Contacts (issue 15, users.contacts): full or masked, decided at the request.
    with_contacts = models.BooleanField(_("with full contacts"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.QUEUED
    )
    total_rows = models.PositiveIntegerField(_("rows to write"), null=True, blank=True)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    failure = models.CharField(_("failure"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("order export")
        verbose_name_plural = _("order exports")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["requested_by", "-id"], name="orders_export_owner_idx"
            ),
            models.Index(fields=["created_at"], name="orders_export_created_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_status_display()}"


class BlacklistEntry(models.Model):
    """An account, contact, IP address or recharge account that may not buy.
    Checked once at the checkout entry (orders.risk.refuse_if_blacklisted) by one
    query on the unique (kind, value_index) index.

    Every kind is encrypted at rest (issue 15, kameng.fields), not only contacts
    and recharge accounts: one column, one digest, one unique index and one
    query shape for all four, and an IP address or a username is personal data
    too. The value is stored normalised (`normalised`), so its blind index is
    the digest the checkout computes from whatever the buyer typed."""

    class Kind(models.TextChoices):
        ACCOUNT = "account", _("Account (username)")
        CONTACT = "contact", _("Contact (email or phone)")
        IP = "ip", _("IP address")
        RECHARGE_ACCOUNT = "recharge_account", _("Recharge account")

    # Kinds whose value is a person's contact: masked wherever it is named.
    CONTACT_KINDS = (Kind.CONTACT, Kind.RECHARGE_ACCOUNT)

    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    value = EncryptedTextField(_("value"), max_length=150)
    value_index = BlindIndexField(source="value")
    reason = models.CharField(_("reason"), max_length=300)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("added by"),
    )
    created_at = models.DateTimeField(_("added at"), auto_now_add=True)

    # update() of the value without its index is refused.
    objects = IndexedManager()

    class Meta:
        verbose_name = _("blacklist entry")
        verbose_name_plural = _("blacklist")
        ordering = ["-id"]
        permissions = [
            (
                "review_held_order",
                _("Can release or refuse orders held for risk review"),
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value_index"], name="orders_blacklist_kind_bidx_uniq"
            )
        ]

    def __str__(self):
        value = self.value
        if self.kind in self.CONTACT_KINDS:
            value = mask_contact(value)  # admin and audit logs name it masked
        return f"{self.get_kind_display()}: {value}"

    def save(self, *args, **kwargs):
        # Stored normalised, so the index the field computes from it is the
        # digest the checkout looks up (and rotate_contact_key --reindex, which
        # sees only the stored value, computes the same one).
        # A value no key opens keeps its token (kameng.fields.Undecryptable).
        if not isinstance(self.value, Undecryptable):
            self.value = self.normalised(self.kind, self.value)
        super().save(*args, **kwargs)

    @classmethod
    def normalised(cls, kind: str, value) -> str:
        """How a value is stored and compared: an IP address in its canonical
        form; a username trimmed and case-blind; a contact or recharge account
        as contacts are everywhere (kameng.fields.normalise_contact: a phone
        number's digits without +86, an e-mail lower-cased), case-blind too."""
        text = str(value or "").strip()
        if kind == cls.Kind.IP:
            try:
                return str(ipaddress.ip_address(text))
            except ValueError:
                return text[:150]
        if kind == cls.Kind.ACCOUNT:
            return text.casefold()[:150]
        return normalise_contact(text).casefold()[:150]

    @classmethod
    def digest(cls, kind: str, value) -> str:
        """The blind index an entry of `kind` holding `value` has ("" for none)."""
        return blind_index(cls.normalised(kind, value))


# After-sales rules, reissues and canned replies (issue 11, support slice) -----


class AfterSalesRule(models.Model):
    """What staff may do for one ticket type on one delivery type, set by the
    operators. orders.rules turns it into the actions a ticket page offers."""

    class DeliveryType(models.TextChoices):
        # The same values as catalog.Sku.DeliveryType.
        CARD = "card", _("Card code")
        TOPUP = "topup", _("Supplier top-up")
        MANUAL = "manual", _("Manual delivery")

    delivery_type = models.CharField(
        _("delivery type"), max_length=10, choices=DeliveryType
    )
    ticket_kind = models.CharField(_("ticket type"), max_length=12, choices=Ticket.Kind)
    allow_reissue = models.BooleanField(
        _("reissue allowed"),
        default=False,
        help_text=_("Replace delivered card codes with fresh ones (card codes only)."),
    )
    allow_refund = models.BooleanField(_("refund allowed"), default=False)
    refund_needs_invalid_codes = models.BooleanField(
        _("refund only after the codes are found invalid"),
        default=False,
        help_text=_(
            "A refund is offered only once staff have checked the delivered card "
            "codes and marked them invalid."
        ),
    )
    buyer_note = models.CharField(
        _("what the buyer is told"),
        max_length=300,
        blank=True,
        help_text=_("Shown on the buyer's ticket page in the shop."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("after-sales rule")
        verbose_name_plural = _("after-sales rules")
        ordering = ["delivery_type", "ticket_kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery_type", "ticket_kind"],
                name="orders_aftersalesrule_uniq",
            ),
            models.CheckConstraint(
                condition=Q(allow_reissue=False) | Q(delivery_type="card"),
                name="orders_aftersalesrule_reissue_card",
            ),
        ]

    def __str__(self):
        return f"{self.get_delivery_type_display()} · {self.get_ticket_kind_display()}"


class CodeInvalidation(models.Model):
    """A delivered card code staff checked and marked invalid: voided, with who
    and why, and the fresh code that replaced it when it was reissued. One row
    per code; the rows of one request share its `key` (a second click finds them
    and changes nothing)."""

    key = models.UUIDField(_("request key"), db_index=True)
    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        related_name="code_invalidations",
        verbose_name=_("order"),
    )
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ticket"),
    )
    code = models.OneToOneField(
        "catalog.CardCode",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("invalid code"),
    )
    replacement = models.OneToOneField(
        "catalog.CardCode",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reissued code"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("checked by"),
    )
    reason = models.CharField(_("reason"), max_length=300)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("invalid card code")
        verbose_name_plural = _("invalid card codes")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["order", "id"], name="orders_codeinv_order_idx")
        ]

    def __str__(self):
        return f"{self.order_id} · {self.code_id}"


class CannedReply(models.Model):
    """A ready answer support inserts into a reply in one click. Its text may
    name {order_no}, {buyer} and {product} (orders.replies.PLACEHOLDERS)."""

    title = models.CharField(_("title"), max_length=80, unique=True)
    body = models.TextField(_("text"), max_length=2000)
    keywords = models.CharField(
        _("keywords"),
        max_length=200,
        blank=True,
        help_text=_("Words buyers use for this question; they help the suggestions."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title"]

    def __str__(self):
        return self.title


class CannedReplyUse(models.Model):
    """A staff reply that started from a canned reply: what the suggestions
    learn from (a resolved ticket's question → the answer that solved it)."""

    reply = models.ForeignKey(
        CannedReply,
        on_delete=models.CASCADE,
        related_name="uses",
        verbose_name=_("canned reply"),
    )
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        related_name="canned_uses",
        verbose_name=_("ticket"),
    )
    message = models.OneToOneField(
        TicketMessage,
        on_delete=models.CASCADE,
        related_name="canned_use",
        verbose_name=_("message"),
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("canned reply use")
        verbose_name_plural = _("canned reply uses")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.ticket_id} · {self.reply_id}"


class CoPurchase(models.Model):
    """ "Bought together": how many buyers paid for both products, counted nightly
    over paid orders by orders.recommendations.compute_co_purchases (a full
    rebuild, set-based SQL). Each product keeps only its strongest pairs."""

    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("product"),
    )
    other = models.ForeignKey(
        "catalog.Product",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("bought with"),
    )
    buyers = models.PositiveIntegerField(_("buyers who bought both"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("co-purchase")
        verbose_name_plural = _("co-purchases")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "other"], name="orders_copurchase_pair_uniq"
            ),
            models.CheckConstraint(
                condition=~Q(product=models.F("other")),
                name="orders_copurchase_not_self",
            ),
        ]
        indexes = [
            models.Index(
                fields=["product", "-buyers"], name="orders_copurchase_top_idx"
            )
        ]

    def __str__(self):
        return f"{self.product_id} + {self.other_id} ({self.buyers})"


class PaidAnnouncement(models.Model):
    """kameng.events.order_paid still to be announced (a transactional outbox).

    Written in the sale's transaction (orders.transitions.send_after_commit; on
    PostgreSQL by orders.sale_sql's third statement), so it commits or rolls
    back with the sale; the worker's drain (orders.paid_outbox) claims rows
    with a lease, sends the signal and deletes them. The fields are the
    signal's payload: ids, not relations (no foreign-key check on the hot
    path, and a message outlives nothing it names)."""

    order_id = models.BigIntegerField(_("order id"))
    buyer_id = models.BigIntegerField(_("buyer id"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    payment_method = models.CharField(_("payment method"), max_length=12, blank=True)
    category_id = models.BigIntegerField(_("category id"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    # A drain's lease: until then no other drain takes the row; past it (the
    # drain died) the row is claimed again.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)

    # The signal's keyword arguments, each a field of the same name.
    PAYLOAD = ("order_id", "buyer_id", "amount", "payment_method", "category_id")

    class Meta:
        verbose_name = _("paid-order announcement")
        verbose_name_plural = _("paid-order announcements")
        # No secondary index: the drain walks the primary key in order (oldest
        # first) and the table holds only what is not yet announced; the rows
        # a live drain holds, the only ones it skips, are at most a few batches.

    def __str__(self):
        return f"order_paid {self.order_id}"

    def payload(self) -> dict:
        """The signal's keyword arguments, as the callers send them."""
        return {name: getattr(self, name) for name in self.PAYLOAD}
