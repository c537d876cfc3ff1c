"""Top-up bonus rules (marketing) and the bonuses paid (finance reads them)."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin
from marketing.models import BonusGrant, BonusRule, BonusTier
from marketing.topup_bonus import BonusRefused, check_tiers


class TierFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        tiers = [
            (form.cleaned_data["threshold"], form.cleaned_data["bonus"])
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("threshold") is not None
            and form.cleaned_data.get("bonus") is not None
        ]
        try:
            check_tiers(tiers)
        except BonusRefused as exc:
            raise forms.ValidationError(exc.message) from exc


class BonusTierInline(admin.TabularInline):
    model = BonusTier
    formset = TierFormSet
    extra = 1
    min_num = 0


class BonusRuleForm(forms.ModelForm):
    class Meta:
        model = BonusRule
        fields = ("name", "starts_at", "ends_at", "per_buyer_limit", "active")

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", gettext("The end must be after the start."))
        return data


@admin.register(BonusRule)
class BonusRuleAdmin(ModelAdmin):
    form = BonusRuleForm
    inlines = (BonusTierInline,)
    list_display = (
        "name",
        "tiers_text",
        "starts_at",
        "ends_at",
        "per_buyer_limit",
        "active",
    )
    list_filter = ("active",)
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tiers")

    @admin.display(description=_("tiers"))
    def tiers_text(self, rule):
        return "，".join(
            gettext("Top up %(threshold)s, get %(bonus)s")
            % {"threshold": tier.threshold, "bonus": tier.bonus}
            for tier in rule.tiers.all()
        )


class NotRecoveredFilter(admin.SimpleListFilter):
    title = _("not recovered")
    parameter_name = "short"

    def lookups(self, request, model_admin):
        return (("yes", _("Bonus not fully recovered")),)

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(shortfall__gt=0)
        return queryset


@admin.register(BonusGrant)
class BonusGrantAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = (
        "topup_no",
        "buyer",
        "rule",
        "topup_amount",
        "bonus",
        "created_at",
        "reversed_amount",
        "shortfall",
        "reversed_at",
    )
    list_filter = (NotRecoveredFilter, "rule")
    list_select_related = ("buyer", "rule")
    search_fields = ("=topup_no", "=buyer__username")
    show_full_result_count = False
    fields = list_display
    readonly_fields = fields
