from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.recharge import has_account_field

ZERO = Decimal("0.00")


class Category(models.Model):
    """A node of the category tree (游戏点卡 › 腾讯 › Q币)."""

    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    name = models.CharField(_("name"), max_length=60)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["sort_order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="catalog_category_parent_name_uniq"
            )
        ]

    def __str__(self):
        return self.name


class Product(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        LISTED = "listed", _("Listed")
        PAUSED = "paused", _("Paused")
        UNLISTED = "unlisted", _("Unlisted")

    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("category"),
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status, default=Status.DRAFT
    )
    image = models.ImageField(
        _("image"), upload_to="products/%Y/%m/", blank=True, max_length=200
    )
    list_at = models.DateTimeField(
        _("list at"),
        null=True,
        blank=True,
        help_text=_("Listed automatically at this time (within a minute)."),
    )
    unlist_at = models.DateTimeField(
        _("unlist at"),
        null=True,
        blank=True,
        help_text=_("Unlisted automatically at this time (within a minute)."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "category"], name="catalog_prod_status_idx"),
            models.Index(
                fields=["list_at"],
                condition=Q(list_at__isnull=False),
                name="catalog_prod_list_at_idx",
            ),
            models.Index(
                fields=["unlist_at"],
                condition=Q(unlist_at__isnull=False),
                name="catalog_prod_unlist_at_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(list_at__isnull=True)
                | Q(unlist_at__isnull=True)
                | Q(unlist_at__gt=models.F("list_at")),
                name="catalog_prod_unlist_after_list",
            )
        ]

    def __str__(self):
        return self.name


class Sku(models.Model):
    """What a buyer actually picks: one spec of a product, with its price and stock."""

    class DeliveryType(models.TextChoices):
        CARD = "card", _("Card code")
        TOPUP = "topup", _("Supplier top-up")
        MANUAL = "manual", _("Manual delivery")

    class StockMode(models.TextChoices):
        UNLIMITED = "unlimited", _("Unlimited")
        COUNTER = "counter", _("Counter")
        CODES = "codes", _("Available codes")

    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        related_name="skus",
        verbose_name=_("product"),
    )
    code = models.CharField(_("SKU code"), max_length=40, unique=True)
    name = models.CharField(_("spec"), max_length=120)
    face_value = models.DecimalField(
        _("face value"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    delivery_type = models.CharField(
        _("delivery type"), max_length=16, choices=DeliveryType
    )
    stock_mode = models.CharField(
        _("stock mode"), max_length=16, choices=StockMode, default=StockMode.COUNTER
    )
    stock = models.PositiveIntegerField(
        _("stock"),
        default=0,
        help_text=_(
            "Counter stock; for code stock, the number of available codes, kept by "
            "the import and sale services."
        ),
    )
    low_stock_threshold = models.PositiveIntegerField(
        _("low stock threshold"), default=10
    )
    reusable_code = models.BooleanField(
        _("reusable code"),
        default=False,
        help_text=_(
            "One code sold to every buyer (a shared account, a download key); "
            "it is never used up."
        ),
    )
    min_quantity = models.PositiveIntegerField(_("minimum per order"), default=1)
    max_quantity = models.PositiveIntegerField(_("maximum per order"), default=100)
    specs = models.JSONField(
        _("specs"),
        default=dict,
        blank=True,
        help_text=_('Structured specs, e.g. {"region": "全国", "server": ["一区"]}.'),
    )
    recharge_fields = models.JSONField(
        _("recharge fields"),
        default=list,
        blank=True,
        help_text=_(
            "What the buyer fills in for a top-up: a list of "
            '{"key", "label", "rule"} with rule phone, qq, email, game_id or regex:…'
        ),
    )
    auto_paused = models.BooleanField(
        _("paused by the stock monitor"), default=False, editable=False
    )
    price = models.DecimalField(_("price"), max_digits=14, decimal_places=2)
    cost_price = models.DecimalField(
        _("cost price"), max_digits=14, decimal_places=2, default=ZERO
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Moved by database triggers (migration 0005) whenever anything a sale reads
    # changes: a column of this row other than stock, its product, its level
    # prices or quantity tiers. Sales check it against the per-process cache
    # (catalog.services.sale_cache) in the statement that moves the stock.
    sale_version = models.BigIntegerField(_("sale version"), default=1, editable=False)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        ordering = ["product_id", "id"]
        permissions = [
            ("view_cost", _("Can see and edit cost prices")),
            ("reveal_cardcode", _("Can reveal card codes")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gt=0), name="catalog_sku_price_gt_0"
            ),
            models.CheckConstraint(
                condition=Q(cost_price__gte=0), name="catalog_sku_cost_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(min_quantity__gte=1)
                & Q(max_quantity__gte=models.F("min_quantity")),
                name="catalog_sku_quantity_range",
            ),
            models.CheckConstraint(
                condition=Q(reusable_code=False) | Q(delivery_type="card"),
                name="catalog_sku_reusable_only_cards",
            ),
            models.CheckConstraint(
                condition=~Q(delivery_type="topup", stock_mode="codes")
                & ~Q(delivery_type="manual", stock_mode="codes"),
                name="catalog_sku_codes_only_for_cards",
            ),
        ]

    def __str__(self):
        return f"{self.product.name} {self.name}" if self.product_id else self.name

    def clean(self):
        problem = self.account_problem()
        if problem:
            raise ValidationError(problem, code="no_account")

    def account_problem(self) -> str | None:
        """Why this SKU may not be saved as it is, or None: an active top-up of a
        product that is listed, or scheduled to list, must ask for the account it
        credits (catalog.recharge)."""
        try:
            product = self.product
        except Product.DoesNotExist:
            return None
        on_sale = product.status == Product.Status.LISTED or product.list_at
        if self.is_active and on_sale and self.lacks_recharge_account():
            return gettext(
                "SKU %(sku)s is a top-up of a listed or scheduled product: add "
                "at least one required recharge field (the account it credits) "
                "before it can be sold."
            ) % {"sku": self.code}
        return None

    def lacks_recharge_account(self) -> bool:
        """A top-up that does not ask which account to credit: it cannot be sold."""
        return self.delivery_type == self.DeliveryType.TOPUP and not has_account_field(
            self.recharge_fields
        )


class SkuSalesDay(models.Model):
    """Units sold per SKU and local day: what the inventory monitor's "sold in 24 h /
    7 d" and days-of-cover read, without scanning codes or orders."""

    sku = models.ForeignKey(
        Sku, on_delete=models.CASCADE, related_name="sales_days", verbose_name=_("SKU")
    )
    day = models.DateField(_("day"))
    quantity = models.PositiveIntegerField(_("quantity sold"), default=0)

    class Meta:
        verbose_name = _("daily sales")
        verbose_name_plural = _("daily sales")
        constraints = [
            models.UniqueConstraint(
                fields=["sku", "day"], name="catalog_skusalesday_sku_day_uniq"
            )
        ]
        indexes = [models.Index(fields=["day"], name="catalog_salesday_day_idx")]

    def __str__(self):
        return f"{self.sku_id} {self.day}: {self.quantity}"
