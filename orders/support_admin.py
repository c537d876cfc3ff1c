"""Back office of the support slice: after-sales rules (operators), canned
replies (support leads) and the record of invalid and reissued card codes.
Registered by orders.admin through `register()`."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.decorators import display

from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin
from orders.models import AfterSalesRule, CannedReply, CodeInvalidation
from orders.replies import check_template, placeholder_help


class AfterSalesRuleForm(forms.ModelForm):
    class Meta:
        model = AfterSalesRule
        fields = (
            "delivery_type",
            "ticket_kind",
            "allow_reissue",
            "allow_refund",
            "refund_needs_invalid_codes",
            "buyer_note",
        )

    def clean(self):
        data = super().clean()
        if data.get("allow_reissue") and data.get("delivery_type") != "card":
            self.add_error(
                "allow_reissue",
                gettext("Only card codes can be reissued: untick it for this type."),
            )
        return data


class AfterSalesRuleAdmin(ModelAdmin):
    form = AfterSalesRuleForm
    list_display = (
        "delivery_type",
        "ticket_kind",
        "allow_reissue",
        "allow_refund",
        "refund_needs_invalid_codes",
        "buyer_note",
    )
    list_filter = ("delivery_type", "ticket_kind")
    show_full_result_count = False


class CannedReplyForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ("title", "keywords", "body", "is_active")
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "body" in self.fields:  # absent when the viewer may only read
            self.fields["body"].help_text = gettext(
                "Placeholders filled in for each ticket: %(available)s."
            ) % {"available": placeholder_help()}

    def clean_body(self):
        body = self.cleaned_data["body"]
        check_template(body)  # ValidationError names the unknown placeholder
        return body


class CannedReplyAdmin(ModelAdmin):
    form = CannedReplyForm
    list_display = ("title", "keywords", "is_active", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("title",)
    show_full_result_count = False


class CodeInvalidationAdmin(ReadOnlyMixin, ModelAdmin):
    """Card codes staff found invalid, and what replaced them (read-only)."""

    list_display = (
        "order",
        "code",
        "reissued",
        "actor",
        "reason",
        "created_at",
    )
    list_select_related = ("order", "code", "replacement", "actor")
    search_fields = ("=order__order_no",)
    show_full_result_count = False
    fields = ("order", "ticket", "code", "replacement", "actor", "reason", "created_at")
    readonly_fields = fields

    @display(description=_("reissued code"))
    def reissued(self, row):
        return row.replacement or gettext("Not reissued")


def register() -> None:
    admin.site.register(AfterSalesRule, AfterSalesRuleAdmin)
    admin.site.register(CannedReply, CannedReplyAdmin)
    admin.site.register(CodeInvalidation, CodeInvalidationAdmin)
