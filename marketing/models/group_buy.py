"""Group buy (拼团, issue 13): a campaign per SKU, the groups buyers open on it
and their members.

Marketing never reads orders: a member keeps its order's id as a plain
number. The group's `seats_taken` counts the members still in it, changed only
under the group's row lock (marketing.group_buy), and a check constraint keeps
it within the group's size: a group never has more members than its size.
"""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

MIN_GROUP_SIZE = 2
MAX_GROUP_SIZE = 50
MAX_GROUP_HOURS = 24 * 7


class GroupBuyCampaign(models.Model):
    """A SKU sold at a group price to groups of `group_size` buyers, each group
    filled within `hours` of being opened, during the campaign's window."""

    sku = models.ForeignKey(
        "catalog.Sku",
        on_delete=models.PROTECT,
        related_name="group_buy_campaigns",
        verbose_name=_("SKU"),
    )
    name = models.CharField(_("name"), max_length=80)
    group_size = models.PositiveSmallIntegerField(
        pgettext_lazy("group buy", "group size"),
        validators=[
            MinValueValidator(MIN_GROUP_SIZE),
            MaxValueValidator(MAX_GROUP_SIZE),
        ],
        help_text=_("How many buyers fill a group (at least 2)."),
    )
    group_price = models.DecimalField(
        pgettext_lazy("group buy", "group price"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("What each member pays; below the SKU's price."),
    )
    hours = models.PositiveSmallIntegerField(
        _("hours to fill a group"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_GROUP_HOURS)],
        help_text=_(
            "A group not full this many hours after it was opened fails and "
            "every member is refunded automatically."
        ),
    )
    starts_at = models.DateTimeField(pgettext_lazy("group buy", "starts at"))
    ends_at = models.DateTimeField(
        pgettext_lazy("group buy", "ends at"),
        help_text=_("No group can be opened after this time."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("group buy campaign")
        verbose_name_plural = _("group buy campaigns")
        ordering = ("-starts_at", "-id")
        indexes = [
            models.Index(fields=["sku", "ends_at"], name="mkt_groupcamp_sku_ends"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(group_size__gte=MIN_GROUP_SIZE),
                name="mkt_groupcamp_size_gte_2",
            ),
            models.CheckConstraint(
                condition=Q(group_price__gt=0), name="mkt_groupcamp_price_gt_0"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="mkt_groupcamp_ends_after_start",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def duration(self) -> timedelta:
        return timedelta(hours=self.hours)

    def clean(self):
        errors = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("The end must come after the start.")
        if self.sku_id and self.group_price is not None:
            price = self.sku.price
            if self.group_price >= price:
                errors["group_price"] = _(
                    "The group price must be below the SKU's price (¥%(price)s)."
                ) % {"price": price}
        if errors:
            raise ValidationError(errors)
        if self.sku_id and self.starts_at and self.ends_at and self.is_active:
            overlapping = GroupBuyCampaign.objects.filter(
                sku_id=self.sku_id,
                is_active=True,
                starts_at__lt=self.ends_at,
                ends_at__gt=self.starts_at,
            ).exclude(pk=self.pk)
            if overlapping.exists():
                raise ValidationError(
                    {
                        "sku": _(
                            "This SKU already has an active group buy campaign "
                            "in that window."
                        )
                    }
                )


class BuyerGroup(models.Model):
    """One group opened on a campaign; its share link carries `token`."""

    class State(models.TextChoices):
        OPEN = "open", _("Open, waiting for members")
        FILLED = "filled", pgettext_lazy("group buy", "Filled")
        FAILED = "failed", _("Failed, members refunded")

    campaign = models.ForeignKey(
        GroupBuyCampaign,
        on_delete=models.PROTECT,
        related_name="groups",
        verbose_name=pgettext_lazy("group buy", "campaign"),
    )
    token = models.CharField(_("share token"), max_length=32, unique=True)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=pgettext_lazy("group buy", "opened by"),
    )
    size = models.PositiveSmallIntegerField(pgettext_lazy("group buy", "group size"))
    seats_taken = models.PositiveSmallIntegerField(_("members"), default=0)
    state = models.CharField(
        _("state"), max_length=8, choices=State, default=State.OPEN
    )
    opened_at = models.DateTimeField(_("opened at"))
    deadline = models.DateTimeField(pgettext_lazy("group buy", "deadline"))
    closed_at = models.DateTimeField(_("filled or failed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("buyer group")
        verbose_name_plural = _("buyer groups")
        ordering = ("-id",)
        indexes = [
            # The beat task's scan: open groups past their deadline.
            models.Index(
                fields=["deadline"],
                condition=Q(state="open"),
                name="mkt_group_open_deadline",
            ),
            models.Index(fields=["campaign", "state"], name="mkt_group_camp_state"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(seats_taken__lte=F("size")),
                name="mkt_group_seats_lte_size",
            ),
        ]

    def __str__(self):
        return f"{self.campaign} #{self.pk}"

    @property
    def seats_left(self) -> int:
        return max(self.size - self.seats_taken, 0)


class FailedGroupManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(state=BuyerGroup.State.FAILED)


class FailedGroup(BuyerGroup):
    """The failed groups, for the back office's list of what was refunded."""

    objects = FailedGroupManager()

    class Meta:
        proxy = True
        verbose_name = _("failed group")
        verbose_name_plural = _("failed groups")
        ordering = ("-closed_at", "-id")


class GroupMember(models.Model):
    """A buyer's seat in a group, with the order that paid for it."""

    group = models.ForeignKey(
        BuyerGroup,
        on_delete=models.CASCADE,
        related_name="members",
        verbose_name=pgettext_lazy("group buy", "group"),
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("buyer"),
    )
    order_id = models.BigIntegerField(
        pgettext_lazy("group buy", "order id"), db_index=True
    )
    order_no = models.CharField(_("order number"), max_length=24)
    joined_at = models.DateTimeField(pgettext_lazy("group buy", "joined at"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    # The order was cancelled or refunded before the group filled: the seat
    # went back to the group.
    left_at = models.DateTimeField(
        pgettext_lazy("group buy", "left at"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("group member")
        verbose_name_plural = _("group members")
        ordering = ("group", "id")
        constraints = [
            # A buyer joins a group once (a seat given back may be taken again).
            models.UniqueConstraint(
                fields=["group", "buyer"],
                condition=Q(left_at__isnull=True),
                name="mkt_groupmember_once_per_group",
            ),
        ]

    def __str__(self):
        return f"{self.group} · {self.buyer}"
