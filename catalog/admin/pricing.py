"""Admin for catalog pricing: member-level prices, quantity tiers, cost-plus rules
(inlines of the SKU page) and the read-only price history.

Every price edit goes through catalog.services.pricing, which writes PriceChange
rows (cause "manual", or "rule" when a cost-plus rule re-prices), with the admin
user as actor. Cost-plus rules reveal cost margins: they exist only for people with
catalog.view_cost, as do "cost" rows of the price history.
"""

from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Substr
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import StackedInline, TabularInline
from unfold.decorators import display

from catalog.models import CostPlusRule, LevelPrice, PriceChange, QuantityTier
from catalog.services.pricing import (
    LAYER_LABELS,
    save_cost_plus_rule,
    save_level_prices,
    save_quantity_tiers,
)
from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin
from users.models import MemberLevel


def price_layer_label(layer: str, *, level_name: str | None = None) -> str:
    """A price-history layer in words: "base" → 基础价, "level:gold" → 会员等级
    黄金价, "tier:10" → 10 件及以上价; an unknown layer as stored."""
    kind, _colon, detail = layer.partition(":")
    if layer == "base":
        return str(LAYER_LABELS["base"])
    if layer == "cost":
        return gettext("Cost price")
    if kind == "level" and detail:
        return gettext("Member level %(level)s price") % {"level": level_name or detail}
    if kind == "tier" and detail:
        return gettext("Price for %(n)s or more") % {"n": detail}
    return layer


def can_see_cost(request) -> bool:
    return request.user.has_perm("catalog.view_cost")


class CostOnlyMixin:
    """Every permission additionally needs catalog.view_cost."""

    def has_view_permission(self, request, obj=None):
        return can_see_cost(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return can_see_cost(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return can_see_cost(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return can_see_cost(request) and super().has_delete_permission(request, obj)

    def has_module_permission(self, request):
        return can_see_cost(request) and super().has_module_permission(request)


class LevelPriceInline(TabularInline):
    model = LevelPrice
    fields = ("level", "price")
    extra = 0


class QuantityTierInline(TabularInline):
    model = QuantityTier
    fields = ("min_quantity", "price")
    extra = 0


class CostPlusRuleInline(CostOnlyMixin, StackedInline):
    model = CostPlusRule
    fields = (("margin_percent", "rounding", "enabled"), ("floor", "ceiling"))
    extra = 0
    max_num = 1
    verbose_name_plural = _("cost-plus rule (re-prices the SKU when saved)")


def save_pricing_formset(*, formset, sku, actor) -> bool:
    """Save a pricing inline through its service; False if not a pricing inline."""
    if formset.model is LevelPrice:
        changed = formset.save(commit=False)
        save_level_prices(
            sku=sku, changed=changed, deleted=formset.deleted_objects, actor=actor
        )
        return True
    if formset.model is QuantityTier:
        changed = formset.save(commit=False)
        save_quantity_tiers(
            sku=sku, changed=changed, deleted=formset.deleted_objects, actor=actor
        )
        return True
    if formset.model is CostPlusRule:
        changed = formset.save(commit=False)
        for rule in formset.deleted_objects:
            rule.delete()
        for rule in changed:
            rule.sku = sku
            save_cost_plus_rule(rule=rule, actor=actor)
        return True
    return False


@admin.register(CostPlusRule)
class CostPlusRuleAdmin(CostOnlyMixin, ModelAdmin):
    list_display = (
        "sku",
        "margin_percent",
        "rounding",
        "floor",
        "ceiling",
        "enabled",
    )
    list_filter = ("enabled", "rounding")
    list_select_related = ("sku__product",)
    search_fields = ("sku__code", "sku__product__name")
    autocomplete_fields = ("sku",)
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        save_cost_plus_rule(rule=obj, actor=request.user)


@admin.register(PriceChange)
class PriceChangeAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = (
        "created_at",
        "sku_code",
        "sku",
        "layer_name",
        "old_price",
        "new_price",
        "cause",
        "actor",
        "note",
    )
    list_filter = ("cause",)
    list_select_related = ("sku__product", "actor")
    search_fields = ("^sku__code",)
    search_help_text = _("SKU code (or its beginning)")
    readonly_fields = list_display
    exclude = ("layer",)  # its code; layer_name says it in words
    show_full_result_count = False

    @display(description=_("SKU code"), ordering="sku__code")
    def sku_code(self, obj):
        return obj.sku.code

    @display(description=_("layer"), ordering="layer")
    def layer_name(self, obj):
        return price_layer_label(obj.layer, level_name=obj.level_name)

    def get_queryset(self, request):
        level = MemberLevel.objects.filter(code=Substr(OuterRef("layer"), 7))
        qs = (
            super()
            .get_queryset(request)
            .annotate(level_name=Subquery(level.values("name")[:1]))
        )
        if not can_see_cost(request):
            qs = qs.exclude(layer="cost")
        return qs
