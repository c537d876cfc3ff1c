"""Report templates in the admin: managers define what a report holds, when it
runs and who receives it; saving keeps its beat entry in step
(analytics.reports.services.save_report_template)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from analytics.models import ReportTemplate
from analytics.reports.content import CUSTOM_METRICS
from analytics.reports.services import (
    delete_report_templates,
    parse_cron,
    parse_recipients,
    save_report_template,
)
from kameng.admin_base import ModelAdmin


class ReportTemplateForm(forms.ModelForm):
    metrics = forms.MultipleChoiceField(
        label=_("metrics"),
        choices=[(code, label) for code, (label, _kind) in CUSTOM_METRICS.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_(
            "Custom reports only; cost and profit only for those who may see cost."
        ),
    )

    class Meta:
        model = ReportTemplate
        fields = (
            "name",
            "kind",
            "period",
            "metrics",
            "dimension",
            "category",
            "formats",
            "recipients",
            "schedule",
            "enabled",
        )
        widgets = {"recipients": forms.Textarea(attrs={"rows": 3})}

    def clean_recipients(self):
        try:
            return "\n".join(parse_recipients(self.cleaned_data["recipients"]))
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc

    def clean_schedule(self):
        schedule = " ".join(self.cleaned_data["schedule"].split())
        parse_cron(schedule)
        return schedule

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == ReportTemplate.Kind.CUSTOM and not cleaned.get("metrics"):
            self.add_error("metrics", _("A custom report needs at least one metric."))
        if cleaned.get("schedule") and not cleaned.get("recipients"):
            self.add_error(
                "recipients", _("A scheduled report needs someone to mail it to.")
            )
        return cleaned


@admin.register(ReportTemplate)
class ReportTemplateAdmin(ModelAdmin):
    form = ReportTemplateForm
    list_display = ("name", "kind", "period", "formats", "schedule", "enabled", "owner")
    list_filter = ("kind", "enabled")
    search_fields = ("name",)
    readonly_fields = ("owner", "created_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.owner = request.user
        save_report_template(template=obj, actor=request.user)

    def delete_model(self, request, obj):
        delete_report_templates(templates=[obj])

    def delete_queryset(self, request, queryset):
        delete_report_templates(templates=list(queryset))
