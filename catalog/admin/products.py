from django import forms
from django.contrib import admin, messages
from django.db.models import Exists, OuterRef
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import TabularInline
from unfold.decorators import action

from catalog.admin.category_managers import (
    GRANT_PERMISSION,
    CategoryManagersForm,
    ManagedCategoriesMixin,
    ManagedInlineMixin,
)
from catalog.admin.pricing import (
    CostPlusRuleInline,
    LevelPriceInline,
    QuantityTierInline,
    save_pricing_formset,
)
from catalog.admin.rows import (
    RechargeFieldsField,
    SpecsField,
    recharge_fields_table,
    specs_table,
)
from catalog.models import Category, Product, Sku
from catalog.recharge import form_fields
from catalog.services.category_managers import set_category_managers
from catalog.services.pricing import save_sku_prices
from catalog.services.products import (
    ProductStatusError,
    duplicate_product,
    set_product_status,
)
from catalog.stock import StockState, stock_state_expression
from kameng.admin_base import ModelAdmin

COST_FIELDS = ("cost_price",)


class CostHidingMixin:
    """Cost prices exist only for people with catalog.view_cost (DESIGN §3 roles).

    Removes them from lists, forms and inlines for everyone else, so support and
    marketing never see them, not even as a read-only value. `cost_fields` names
    them per admin (SupplierOffer's is "cost").
    """

    cost_fields = COST_FIELDS

    def _can_see_cost(self, request):
        return request.user.has_perm("catalog.view_cost")

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if self._can_see_cost(request):
            return fields
        return [f for f in fields if f not in self.cost_fields]

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not self._can_see_cost(request):
            exclude += self.cost_fields
        return exclude


class ProductAdminForm(forms.ModelForm):
    """Used by ProductAdmin (which supplies the model and fields)."""

    def clean(self):
        cleaned = super().clean()
        list_at, unlist_at = cleaned.get("list_at"), cleaned.get("unlist_at")
        if list_at and unlist_at and unlist_at <= list_at:
            self.add_error(
                "unlist_at", _("The unlist time must be after the list time.")
            )
        return cleaned


class SkuAdminForm(forms.ModelForm):
    """The SKU page's form (the admin supplies the model and fields): specs and
    recharge fields are edited as rows, stored as the same JSON (rows.py)."""

    specs = SpecsField(
        label=Sku._meta.get_field("specs").verbose_name,
        help_text=_(
            "One spec per row; give a name several rows to offer several values."
        ),
    )
    recharge_fields = RechargeFieldsField(
        label=Sku._meta.get_field("recharge_fields").verbose_name,
        help_text=_(
            "What the buyer fills in at checkout. A top-up needs at least one "
            "required field: the account it credits."
        ),
    )


@admin.register(Category)
class CategoryAdmin(ModelAdmin):
    list_display = ("name", "parent", "slug", "sort_order", "is_active")
    list_filter = ("is_active", "parent")
    list_select_related = ("parent",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def get_form(self, request, obj=None, **kwargs):
        if request.user.has_perm(GRANT_PERMISSION):
            kwargs["form"] = CategoryManagersForm
        return super().get_form(request, obj, **kwargs)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if "managers" in form.cleaned_data:
            set_category_managers(
                category=form.instance,
                managers=form.cleaned_data["managers"],
                actor=request.user,
            )


class SkuInline(ManagedInlineMixin, CostHidingMixin, TabularInline):
    model = Sku
    fields = (
        "code",
        "name",
        "delivery_type",
        "stock_mode",
        "stock",
        "price",
        "cost_price",
        "is_active",
        "account_fields",
    )
    readonly_fields = ("account_fields",)
    extra = 0

    @admin.display(description=_("recharge fields"))
    def account_fields(self, sku):
        """What the buyer is asked for, linked to the SKU page where it is edited;
        a top-up that asks for nothing says it cannot be sold."""
        if sku.pk is None:
            return "-"
        labels = [field["label"] for field in form_fields(sku.recharge_fields)]
        if sku.lacks_recharge_account():
            text = _("No required field: cannot be sold")
        elif labels:
            text = "、".join(labels)
        else:
            return "-"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:catalog_sku_change", args=[sku.pk]),
            text,
        )


class SkuDeliveryTypeFilter(admin.SimpleListFilter):
    title = _("delivery type")
    parameter_name = "delivery_type"

    def lookups(self, request, model_admin):
        return Sku.DeliveryType.choices

    def queryset(self, request, queryset):
        if self.value() not in Sku.DeliveryType.values:
            return queryset
        return queryset.filter(
            Exists(
                Sku.objects.filter(product=OuterRef("pk"), delivery_type=self.value())
            )
        )


class LowStockFilter(admin.SimpleListFilter):
    """Products with a SKU whose counted stock is at or below its threshold."""

    title = _("stock")
    parameter_name = "low_stock"

    def lookups(self, request, model_admin):
        return [("yes", _("Low stock"))]

    def queryset(self, request, queryset):
        if self.value() != "yes":
            return queryset
        return queryset.filter(
            Exists(
                Sku.objects.alias(stock_state=stock_state_expression()).filter(
                    product=OuterRef("pk"),
                    stock_state__in=(StockState.LOW, StockState.OUT),
                )
            )
        )


class MissingAccountFilter(admin.SimpleListFilter):
    """Top-ups that do not ask for the account they credit: a database from before
    that rule may hold some. Listing and checkout refuse them until fixed."""

    title = _("recharge account")
    parameter_name = "account"

    def lookups(self, request, model_admin):
        return [("missing", _("Top-up without an account field"))]

    def queryset(self, request, queryset):
        if self.value() != "missing":
            return queryset
        top_ups = Sku.objects.filter(delivery_type=Sku.DeliveryType.TOPUP).only(
            "pk", "delivery_type", "recharge_fields"
        )
        return queryset.filter(
            pk__in=[sku.pk for sku in top_ups if sku.lacks_recharge_account()]
        )


@admin.register(Product)
class ProductAdmin(ManagedCategoriesMixin, ModelAdmin):
    form = ProductAdminForm
    restricted_choices = {"category": "pk"}
    list_display = ("name", "category", "status", "list_at", "unlist_at", "updated_at")
    list_filter = (
        "status",
        "category",
        SkuDeliveryTypeFilter,
        LowStockFilter,
    )
    list_select_related = ("category",)
    search_fields = ("name", "=skus__code")
    show_full_result_count = False
    inlines = [SkuInline]
    actions = ["list_products", "pause_products", "unlist_products", "duplicate"]
    fieldsets = (
        (None, {"fields": ("category", "name", "description", "image", "status")}),
        (
            _("Schedule"),
            {
                "fields": ("list_at", "unlist_at"),
                "description": _(
                    "Checked every minute. At the list time a draft, paused or "
                    "unlisted product is listed; at the unlist time a listed product "
                    "is unlisted. Each time is used once and then cleared, so a "
                    "status you set by hand afterwards stays."
                ),
            },
        ),
    )

    def _set_status(self, request, queryset, status):
        try:
            changed = set_product_status(
                products=queryset, status=status, actor=request.user
            )
        except ProductStatusError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(
            request,
            ngettext(
                "%(count)s product set to %(status)s.",
                "%(count)s products set to %(status)s.",
                changed,
            )
            % {"count": changed, "status": Product.Status(status).label},
            messages.SUCCESS,
        )

    @action(description=_("List selected products"), permissions=["change"])
    def list_products(self, request, queryset):
        self._set_status(request, queryset, Product.Status.LISTED)

    @action(description=_("Pause selected products"), permissions=["change"])
    def pause_products(self, request, queryset):
        self._set_status(request, queryset, Product.Status.PAUSED)

    @action(description=_("Unlist selected products"), permissions=["change"])
    def unlist_products(self, request, queryset):
        self._set_status(request, queryset, Product.Status.UNLISTED)

    @action(description=_("Duplicate as draft"), permissions=["add"])
    def duplicate(self, request, queryset):
        copies = [
            duplicate_product(product=product, actor=request.user)
            for product in queryset.order_by("id")[:50]
        ]
        self.message_user(
            request,
            ngettext(
                "%(count)s draft copy created; its SKU codes end in -COPY.",
                "%(count)s draft copies created; their SKU codes end in -COPY.",
                len(copies),
            )
            % {"count": len(copies)},
            messages.SUCCESS,
        )
        if len(copies) == 1:
            return HttpResponseRedirect(
                reverse("admin:catalog_product_change", args=[copies[0].pk])
            )
        return None

    def save_formset(self, request, form, formset, change):
        if formset.model is not Sku:
            return super().save_formset(request, form, formset, change)
        changed = formset.save(commit=False)
        for sku in formset.deleted_objects:
            sku.delete()
        for sku in changed:
            sku.product = form.instance
            save_sku_prices(sku=sku, actor=request.user)
        formset.save_m2m()
        return None


@admin.register(Sku)
class SkuAdmin(ManagedCategoriesMixin, CostHidingMixin, ModelAdmin):
    form = SkuAdminForm
    category_lookup = "product__category"
    restricted_choices = {"product": "category"}
    list_filter = ("delivery_type", "stock_mode", "is_active", MissingAccountFilter)
    list_select_related = ("product",)
    search_fields = ("code", "name", "product__name")
    autocomplete_fields = ("product",)
    show_full_result_count = False
    inlines = [LevelPriceInline, QuantityTierInline, CostPlusRuleInline]
    # Who may only look reads these as a table, not as JSON.
    readable = {"specs": "specs_table", "recharge_fields": "recharge_fields_table"}

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fields
        return [self.readable.get(name, name) for name in fields]

    @admin.display(description=_("specs"))
    def specs_table(self, obj):
        return specs_table(obj.specs)

    @admin.display(description=_("recharge fields"))
    def recharge_fields_table(self, obj):
        return recharge_fields_table(obj.recharge_fields)

    def get_list_display(self, request):
        columns = [
            "code",
            "product",
            "name",
            "delivery_type",
            "price",
            "stock",
            "is_active",
        ]
        if self._can_see_cost(request):
            columns.insert(5, "cost_price")
        return columns

    def save_model(self, request, obj, form, change):
        save_sku_prices(sku=obj, actor=request.user)

    def save_formset(self, request, form, formset, change):
        if not save_pricing_formset(
            formset=formset, sku=form.instance, actor=request.user
        ):
            super().save_formset(request, form, formset, change)
