import secrets
from binascii import hexlify, unhexlify
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.plugins.otp_totp.models import TOTPDevice

from kameng import crypto
from kameng.fields import (
    BlindIndexField,
    EncryptedEmailField,
    EncryptedTextField,
    IndexedQuerySet,
)

ZERO = Decimal("0.00")
AUTHENTICATOR_KEY_BYTES = 20  # 160 bits, as RFC 4226 recommends


class MemberLevel(models.Model):
    """A buyer tier (青铜, 白银, 黄金, 钻石…): a growth threshold and its benefits.
    The pricing layer reads level prices, fulfilment the VIP supplier preference;
    the birthday gift and monthly coupon are hooks marketing fills."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=40)
    rank = models.PositiveSmallIntegerField(
        _("rank"), default=0, help_text=_("Higher is better.")
    )
    prefers_fastest_supplier = models.BooleanField(
        _("VIP: fastest healthy supplier first"), default=False
    )
    growth_threshold = models.DecimalField(
        _("growth threshold"),
        max_digits=14,
        decimal_places=2,
        default=ZERO,
        help_text=_("Growth value a buyer needs to reach this level."),
    )
    priority_support = models.BooleanField(_("priority support"), default=False)
    birthday_gift = models.BooleanField(_("birthday gift"), default=False)
    monthly_coupon = models.BooleanField(_("monthly coupon"), default=False)
    badge_text = models.CharField(_("badge text"), max_length=12, blank=True)
    badge_colour = models.CharField(
        _("badge colour"),
        max_length=7,
        blank=True,
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour like #c0a060."))],
    )

    class Meta:
        verbose_name = _("member level")
        verbose_name_plural = _("member levels")
        ordering = ["rank", "id"]

    def __str__(self):
        return self.name


def validate_birthday(value) -> None:
    """A birthday is a day that has been, at most BIRTHDAY_MAX_AGE years ago."""
    today = timezone.localdate()
    if value > today:
        raise ValidationError(_("A birthday cannot be in the future."))
    if value.year < today.year - BIRTHDAY_MAX_AGE:
        raise ValidationError(
            _("A birthday cannot be more than %(years)s years ago.")
            % {"years": BIRTHDAY_MAX_AGE}
        )


BIRTHDAY_MAX_AGE = 120


def contacts_user_manager() -> UserManager:
    """Django's UserManager over kameng.fields.IndexedQuerySet: an update() of a
    phone or e-mail without its blind index is refused. The queryset class is
    set on the instance rather than by a subclass: migrations compare managers
    by class, and a subclass would write a users migration for nothing."""
    manager = UserManager()
    manager._queryset_class = IndexedQuerySet
    return manager


class User(AbstractUser):
    """Staff and buyers alike; `is_staff` opens the back office, groups give roles."""

    # Contacts encrypted at rest, found by their blind index (kameng.fields,
    # issue 15): `user.phone` reads as plain text, the column holds a token.
    phone = EncryptedTextField(_("phone"), max_length=20, blank=True)
    phone_index = BlindIndexField(source="phone")
    email = EncryptedEmailField(_("email address"), max_length=254, blank=True)
    email_index = BlindIndexField(source="email")
    nickname = models.CharField(_("nickname"), max_length=50, blank=True)
    # Marketing's birthday gift (members of a level with `birthday_gift`).
    birthday = models.DateField(
        _("birthday"), null=True, blank=True, validators=[validate_birthday]
    )
    member_level = models.ForeignKey(
        MemberLevel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("member level"),
    )

    objects = contacts_user_manager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")
        # Contacts (issue 15, users.contacts): full contacts in exports.
        permissions = [
            ("view_full_contact", _("Can see buyers' full contacts in exports"))
        ]
        indexes = [
            # Exact search by phone or e-mail (case-blind): the blind indexes.
            models.Index(fields=["phone_index"], name="users_user_phone_bidx"),
            models.Index(fields=["email_index"], name="users_user_email_bidx"),
            # The home page's buyer figures (users.selectors.buyer_figures): the
            # buyers counted from an index of their ids alone, not a scan of a
            # million wide rows; the staff (a handful) excluded through theirs.
            models.Index(
                fields=["id"], condition=Q(is_staff=False), name="users_user_buyer_idx"
            ),
            models.Index(
                fields=["id"], condition=Q(is_staff=True), name="users_user_staff_idx"
            ),
        ]

    def __str__(self):
        return self.nickname or self.username


class Wallet(models.Model):
    """A buyer's balance (余额). Changed only by users.services, one ledger row each."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="wallet",
        verbose_name=_("user"),
    )
    balance = models.DecimalField(
        _("balance"), max_digits=14, decimal_places=2, default=ZERO
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")
        permissions = [("adjust_wallet", _("Can adjust wallet balances"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="users_wallet_balance_gte_0"
            )
        ]

    def __str__(self):
        return str(self.user)


class LedgerEntry(models.Model):
    """One change of one wallet's balance. Balance == sum(amount), always."""

    class Kind(models.TextChoices):
        TOPUP = "topup", _("Top-up")
        PURCHASE = "purchase", _("Purchase")
        REFUND = "refund", _("Refund")
        ADJUSTMENT = "adjustment", _("Adjustment")
        REWARD = "reward", _("Reward")
        BONUS = "bonus", _("Top-up bonus")  # marketing.topup_bonus: never cash

    wallet = models.ForeignKey(
        Wallet,
        on_delete=models.PROTECT,
        related_name="entries",
        verbose_name=_("wallet"),
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    balance_after = models.DecimalField(
        _("balance after"), max_digits=14, decimal_places=2
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["wallet", "-id"], name="users_ledger_wallet_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="users_ledger_balance_gte_0"
            ),
            models.CheckConstraint(
                condition=~Q(amount=0), name="users_ledger_amount_not_0"
            ),
        ]

    def __str__(self):
        return f"{self.wallet_id} {self.amount:+}"


class BuyerManager(UserManager):
    _queryset_class = IndexedQuerySet  # as User.objects

    def get_queryset(self):
        return super().get_queryset().filter(is_staff=False)


class StaffManager(UserManager):
    _queryset_class = IndexedQuerySet  # as User.objects

    def get_queryset(self):
        return super().get_queryset().filter(is_staff=True)


class Buyer(User):
    """A shop customer (not staff): the 买家 list of the back office."""

    objects = BuyerManager()

    class Meta:
        proxy = True
        verbose_name = _("buyer")
        verbose_name_plural = _("buyers")


class Staff(User):
    """A back-office login: the 员工 list, whose roles are edited by name."""

    objects = StaffManager()

    class Meta:
        proxy = True
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")


class BuyerStats(models.Model):
    """Per-buyer figures the users app keeps itself, filled from kameng.events
    (users never reads orders): growth value, paid spend, last order, how the
    buyer pays, and since when the buyer's growth is below the current level."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="stats",
        verbose_name=_("user"),
    )
    growth = models.DecimalField(
        _("growth value"), max_digits=14, decimal_places=2, default=ZERO
    )
    total_spent = models.DecimalField(
        _("total spent"), max_digits=14, decimal_places=2, default=ZERO
    )
    order_count = models.PositiveIntegerField(_("paid orders"), default=0)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    wallet_payments = models.PositiveIntegerField(_("wallet payments"), default=0)
    gateway_payments = models.PositiveIntegerField(_("gateway payments"), default=0)
    below_level_since = models.DateTimeField(
        _("below level since"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("buyer figures")
        verbose_name_plural = _("buyer figures")
        indexes = [
            models.Index(fields=["total_spent"], name="users_stats_spent_idx"),
            models.Index(fields=["last_order_at"], name="users_stats_last_order_idx"),
        ]

    def __str__(self):
        return str(self.user_id)


class LevelChange(models.Model):
    """One change of a buyer's member level, with its reason (shown on the profile)."""

    class Reason(models.TextChoices):
        PAYMENT = "payment", _("Growth from a payment")
        DAILY = "daily", _("Daily review")
        GRACE_ENDED = "grace_ended", _("Below the level after the grace period")
        RECOMPUTED = "recomputed", _("Growth recomputed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="level_changes",
        verbose_name=_("user"),
    )
    from_level = models.ForeignKey(
        MemberLevel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from level"),
    )
    to_level = models.ForeignKey(
        MemberLevel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("to level"),
    )
    growth = models.DecimalField(_("growth value"), max_digits=14, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason)
    created_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("level change")
        verbose_name_plural = _("level changes")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["user", "-id"], name="users_levelchange_user_idx")
        ]

    def __str__(self):
        return f"{self.user_id} {self.from_level_id}->{self.to_level_id}"


class Area(models.TextChoices):
    SHOP = "shop", _("Shop")
    BACK_OFFICE = "admin", _("Back office")


class LoginMethod(models.TextChoices):
    """What a login attempt proved: the password, or the second step."""

    PASSWORD = "password", _("Password")
    TOTP = "totp", _("Authenticator code")
    RECOVERY = "recovery", _("Recovery code")


class LoginEvent(models.Model):
    """One login attempt, successful or not, at the shop or the back office."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    username = models.CharField(_("username tried"), max_length=150, blank=True)
    success = models.BooleanField(_("succeeded"))
    area = models.CharField(_("where"), max_length=8, choices=Area)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=255, blank=True)
    method = models.CharField(
        _("step"), max_length=8, choices=LoginMethod, default=LoginMethod.PASSWORD
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("login")
        verbose_name_plural = _("logins")
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "-id"], name="users_login_user_idx")]

    def __str__(self):
        return f"{self.username} {self.created_at:%Y-%m-%d %H:%M}"


class ProductView(models.Model):
    """A signed-in buyer opened a product page (the browse trail). The product
    is an id: users sits below catalog and reads no products."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    product_id = models.PositiveBigIntegerField(_("product"))
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("product view")
        verbose_name_plural = _("product views")
        indexes = [models.Index(fields=["user", "-id"], name="users_view_user_idx")]

    def __str__(self):
        return f"{self.user_id} {self.product_id}"


class ShopSearch(models.Model):
    """A search typed in the shop (by a buyer or a guest)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    query = models.CharField(_("search"), max_length=100)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("shop search")
        verbose_name_plural = _("shop searches")

    def __str__(self):
        return self.query


class BehaviourDay(models.Model):
    """Raw tracking events past their retention, counted per day, user and kind."""

    class Kind(models.TextChoices):
        LOGIN = "login", _("Logins")
        LOGIN_FAILED = "login_failed", _("Failed logins")
        VIEW = "view", _("Product views")
        SEARCH = "search", _("Shop searches")

    day = models.DateField(_("day"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    count = models.PositiveIntegerField(_("count"))

    class Meta:
        verbose_name = _("daily behaviour")
        verbose_name_plural = _("daily behaviour")
        indexes = [models.Index(fields=["day", "kind"], name="users_behaviourday_idx")]

    def __str__(self):
        return f"{self.day} {self.kind} {self.count}"


class Favourite(models.Model):
    """A product a buyer marked with the heart (product is an id, as above)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="favourites",
        verbose_name=_("user"),
    )
    product_id = models.PositiveBigIntegerField(_("product"))
    created_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("favourite")
        verbose_name_plural = _("favourites")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "product_id"], name="users_favourite_once"
            )
        ]

    def __str__(self):
        return f"{self.user_id} {self.product_id}"


class RiskFlag(models.Model):
    """A buyer with more after-sales (refunds, reissues) in the last 30 days than
    settings.RISK_AFTER_SALES_LIMIT: the row exists only while the buyer is
    flagged. Kept by orders.risk (after each refund or reissue, and nightly),
    read by every page that shows the buyer (one join or one query per page)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="risk_flag",
        verbose_name=_("user"),
    )
    refunds = models.PositiveIntegerField(_("refunds in 30 days"), default=0)
    reissues = models.PositiveIntegerField(_("reissues in 30 days"), default=0)
    flagged_at = models.DateTimeField(_("flagged at"), default=timezone.now)
    updated_at = models.DateTimeField(_("counted at"), auto_now=True)

    class Meta:
        verbose_name = _("risk flag")
        verbose_name_plural = _("risk flags")

    def __str__(self):
        return str(self.user_id)

    @property
    def label(self) -> str:
        """What a page says about the flagged buyer."""
        return gettext(
            "Risk buyer: %(refunds)s refunds and %(reissues)s reissues in %(days)s days"
        ) % {
            "refunds": self.refunds,
            "reissues": self.reissues,
            "days": settings.RISK_WINDOW_DAYS,
        }


class LedgerAlert(models.Model):
    """A wallet whose balance differs from the sum of its ledger, found by
    users.wallets.check_ledgers: open until a later check finds it consistent.
    Finance is mailed once per alert and sees the open ones in the back office."""

    wallet = models.ForeignKey(
        Wallet,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("wallet"),
    )
    balance = models.DecimalField(_("balance"), max_digits=14, decimal_places=2)
    ledger_sum = models.DecimalField(
        _("sum of the ledger"), max_digits=14, decimal_places=2
    )
    found_at = models.DateTimeField(_("found at"), default=timezone.now)
    notified_at = models.DateTimeField(_("finance mailed at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("ledger alert")
        verbose_name_plural = _("ledger alerts")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["wallet"],
                condition=Q(resolved_at__isnull=True),
                name="users_ledgeralert_one_open",
            )
        ]

    def __str__(self):
        return f"{self.wallet_id}: {self.balance} / {self.ledger_sum}"


class Authenticator(TimestampMixin, ThrottlingMixin, Device):
    """A member of staff's authenticator app (TOTP, RFC 6238; users.two_factor),
    in place of django-otp's TOTPDevice, whose secret is plain hex in its table.
    Here the secret is a Fernet token under FIELD_ENCRYPTION_KEY (kameng.crypto,
    labelled with its key's fingerprint for rotation): a database dump alone
    cannot mint codes. Codes are checked by django-otp's own TOTP logic."""

    encrypted_key = models.TextField(_("secret key (encrypted)"), editable=False)
    key_version = models.CharField(_("key version"), max_length=12, editable=False)
    step = models.PositiveSmallIntegerField(_("time step (seconds)"), default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    # The time step of the last code accepted: a code is never accepted twice.
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")

    def set_key(self, raw: bytes) -> None:
        self.encrypted_key = crypto.encrypt(hexlify(raw).decode("ascii"))
        self.key_version = crypto.current_key_version()

    @property
    def bin_key(self) -> bytes:
        """The secret (raises crypto.InvalidToken when no configured key opens it)."""
        return unhexlify(crypto.decrypt(self.encrypted_key))

    def save(self, *args, **kwargs):
        if not self.encrypted_key:
            self.set_key(secrets.token_bytes(AUTHENTICATOR_KEY_BYTES))
        super().save(*args, **kwargs)

    # django-otp's TOTP checks (window, drift, no step twice, throttling) and
    # its otpauth:// URL, which read only the fields above and `bin_key`.
    verify_token = TOTPDevice.verify_token
    get_throttle_factor = TOTPDevice.get_throttle_factor
    config_url = TOTPDevice.config_url
    _read_str_from_settings = TOTPDevice._read_str_from_settings
