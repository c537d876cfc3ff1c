"""Back office of coupon issuing: the issue jobs (read only), redeem-code
batches (created here through marketing.redeem_codes, exported to Excel) and
their codes, and the automatic campaigns' switches (one row each)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin
from marketing.campaigns import save_campaign
from marketing.issuing import issue_percent
from marketing.models import (
    CouponCampaign,
    CouponIssueJob,
    CouponTemplate,
    RedeemCode,
    RedeemCodeBatch,
)
from marketing.redeem_codes import MAX_BATCH, PREFIX_PATTERN, create_redeem_batch
from users.paging import NoCountPaginationMixin


@admin.register(CouponIssueJob)
class CouponIssueJobAdmin(NoCountPaginationMixin, ReadOnlyMixin, ModelAdmin):
    list_display = (
        "id",
        "template",
        "segment",
        "issue_key",
        "status",
        "progress",
        "issued",
        "requested_by",
        "created_at",
    )
    list_select_related = ("template", "segment", "requested_by")
    list_filter = ("status",)
    ordering = ("-id",)

    @admin.display(description=_("progress"))
    def progress(self, job):
        return format_html(
            '<a class="text-primary-600" href="{}">{}%</a>',
            reverse("marketing:coupon_issue_job", args=[job.pk]),
            issue_percent(job),
        )


class RedeemCodeBatchForm(forms.ModelForm):
    class Meta:
        model = RedeemCodeBatch
        fields = ("template", "name", "prefix", "count", "expires_at")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "template" in self.fields:
            self.fields["template"].queryset = CouponTemplate.objects.filter(
                active=True
            )

    def clean_prefix(self):
        prefix = self.cleaned_data["prefix"].strip().upper()
        if not PREFIX_PATTERN.match(prefix):
            raise forms.ValidationError(
                gettext("Prefix: at most 6 capital letters or digits.")
            )
        return prefix

    def clean_count(self):
        count = self.cleaned_data["count"]
        if not 1 <= count <= MAX_BATCH:
            raise forms.ValidationError(
                gettext("Number of codes: from 1 to %(max)s.") % {"max": MAX_BATCH}
            )
        return count

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        if expires_at <= timezone.now():
            raise forms.ValidationError(
                gettext("The codes must stay redeemable beyond now.")
            )
        return expires_at


@admin.register(RedeemCodeBatch)
class RedeemCodeBatchAdmin(ModelAdmin):
    """A batch is created here (its codes are drawn at once) and never edited;
    its codes are exported to Excel as often as needed."""

    form = RedeemCodeBatchForm
    list_display = (
        "name",
        "template",
        "count",
        "expires_at",
        "created_by",
        "created_at",
        "export",
    )
    list_select_related = ("template", "created_by")
    search_fields = ("name",)
    ordering = ("-id",)
    readonly_fields = ("redeemed", "codes", "export", "created_by", "created_at")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("template", "name", "prefix", "count", "expires_at")
        return (
            "template",
            "name",
            "prefix",
            "count",
            "expires_at",
            "redeemed",
            "codes",
            "export",
            "created_by",
            "created_at",
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return self.get_fields(request, obj)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        batch = create_redeem_batch(
            template=obj.template,
            name=obj.name,
            prefix=obj.prefix,
            count=obj.count,
            expires_at=obj.expires_at,
            actor=request.user,
        )
        obj.pk = batch.pk
        obj.created_at = batch.created_at

    @admin.display(description=_("redeemed"))
    def redeemed(self, batch):
        return RedeemCode.objects.filter(batch=batch, redeemed_at__isnull=False).count()

    @admin.display(description=_("codes"))
    def codes(self, batch):
        return format_html(
            '<a class="text-primary-600" href="{}?batch__id__exact={}">{}</a>',
            reverse("admin:marketing_redeemcode_changelist"),
            batch.pk,
            gettext("List codes"),
        )

    @admin.display(description=_("Export codes"))
    def export(self, batch):
        if batch.pk is None:
            return "—"
        return format_html(
            '<a class="text-primary-600" data-testid="redeem-export" href="{}">{}</a>',
            reverse("marketing:redeem_batch_export", args=[batch.pk]),
            gettext("Export codes"),
        )


@admin.register(RedeemCode)
class RedeemCodeAdmin(NoCountPaginationMixin, ReadOnlyMixin, ModelAdmin):
    list_display = ("code", "batch", "redeemed_by", "redeemed_at")
    list_select_related = ("batch", "redeemed_by")
    search_fields = ("=code",)
    ordering = ("-id",)


@admin.register(CouponCampaign)
class CouponCampaignAdmin(ModelAdmin):
    """The five automatic campaigns, switched on and off and given a template
    here (the rows always exist; nobody adds or deletes one)."""

    list_display = ("kind", "enabled", "template", "rule", "changed_at", "changed_by")
    list_select_related = ("template", "changed_by")
    ordering = ("id",)
    fields = ("kind", "rule", "enabled", "template", "dormant_days")
    readonly_fields = ("kind", "rule", "changed_by")

    RULES = {
        CouponCampaign.Kind.SIGNUP: _("When a buyer signs up on the shop."),
        CouponCampaign.Kind.FIRST_ORDER: _(
            "When a buyer's first order is paid (once per buyer)."
        ),
        CouponCampaign.Kind.BIRTHDAY: _(
            "Daily: buyers whose birthday is today and whose member level has "
            "the birthday gift (once a year)."
        ),
        CouponCampaign.Kind.MONTHLY: _(
            "Daily: buyers whose member level has the monthly coupon (once a month)."
        ),
        CouponCampaign.Kind.WINBACK: _(
            "Daily: buyers whose last paid order is “dormant for” days old (once "
            "per dormant spell)."
        ),
    }

    @admin.display(description=_("when"))
    def rule(self, campaign):
        return self.RULES.get(campaign.kind, "—")

    def get_fields(self, request, obj=None):
        if obj is not None and obj.kind != CouponCampaign.Kind.WINBACK:
            return ("kind", "rule", "enabled", "template")
        return self.fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "template":
            kwargs["queryset"] = CouponTemplate.objects.filter(active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        save_campaign(campaign=obj, actor=request.user)
