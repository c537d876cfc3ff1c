from django.contrib import admin
from unfold.admin import ModelAdmin, TabularInline

from catalog.models import Category, Product, Sku

COST_FIELDS = ("cost_price",)


class CostHidingMixin:
    """Cost prices exist only for people with catalog.view_cost (DESIGN §3 roles).

    Removes them from lists, forms and inlines for everyone else, so support and
    marketing never see them, not even as a read-only value.
    """

    def _can_see_cost(self, request):
        return request.user.has_perm("catalog.view_cost")

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if self._can_see_cost(request):
            return fields
        return [f for f in fields if f not in COST_FIELDS]

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not self._can_see_cost(request):
            exclude += COST_FIELDS
        return exclude


@admin.register(Category)
class CategoryAdmin(ModelAdmin):
    list_display = ("name", "parent", "slug", "sort_order", "is_active")
    list_filter = ("is_active", "parent")
    list_select_related = ("parent",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


class SkuInline(CostHidingMixin, TabularInline):
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
    )
    extra = 0


@admin.register(Product)
class ProductAdmin(ModelAdmin):
    list_display = ("name", "category", "status", "updated_at")
    list_filter = ("status", "category")
    list_select_related = ("category",)
    search_fields = ("name",)
    show_full_result_count = False
    inlines = [SkuInline]


@admin.register(Sku)
class SkuAdmin(CostHidingMixin, ModelAdmin):
    list_filter = ("delivery_type", "stock_mode", "is_active")
    list_select_related = ("product",)
    search_fields = ("code", "name", "product__name")
    autocomplete_fields = ("product",)
    show_full_result_count = False

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
