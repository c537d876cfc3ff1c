from django import forms
from django.utils.translation import gettext_lazy as _

from marketing.models import Segment, Strategy
from marketing.segments import SegmentFilters
from marketing.services import action_available

FILTER_FIELDS = (
    "levels",
    "min_spent",
    "max_spent",
    "ordered_within_days",
    "not_ordered_for_days",
    "categories",
    "registered_from",
    "registered_to",
    "recency_min",
    "recency_max",
    "frequency_min",
    "frequency_max",
    "monetary_min",
    "monetary_max",
)


class SegmentFilterForm(forms.ModelForm):
    """An operator's filters alone (the preview); Segment.clean checks ranges."""

    class Meta:
        model = Segment
        fields = FILTER_FIELDS
        widgets = {
            "levels": forms.CheckboxSelectMultiple,
            "categories": forms.CheckboxSelectMultiple,
            "registered_from": forms.DateInput(attrs={"type": "date"}),
            "registered_to": forms.DateInput(attrs={"type": "date"}),
        }

    INPUT_CLASS = (
        "border border-base-200 dark:border-base-700 rounded-default px-3 py-2 "
        "bg-white dark:bg-base-900"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if not isinstance(field.widget, forms.CheckboxSelectMultiple):
                field.widget.attrs.setdefault("class", self.INPUT_CLASS)

    def filters(self) -> SegmentFilters:
        data = self.cleaned_data
        return SegmentFilters.from_values(
            data,
            levels=data.get("levels") or (),
            categories=data.get("categories") or (),
        )


class SegmentForm(SegmentFilterForm):
    """A segment to save: its name and description, and the filters."""

    class Meta(SegmentFilterForm.Meta):
        fields = ("name", "description", *FILTER_FIELDS)


class StrategyForm(forms.ModelForm):
    class Meta:
        model = Strategy
        fields = (
            "name",
            "segment",
            "action",
            "schedule",
            "weekday",
            "products",
            "coupon_template_id",
            "lasts_days",
            "active",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "action" not in self.fields:  # a view-only admin form has no fields
            return
        self.fields["action"].choices = [
            (
                value,
                label
                if not value or action_available(value)
                else _("%(action)s (not available yet)") % {"action": label},
            )
            for value, label in self.fields["action"].choices
        ]

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == Strategy.Action.RECOMMEND and not data.get("products"):
            self.add_error("products", _("Choose the products to recommend."))
        if action == Strategy.Action.ISSUE_COUPON:
            if not action_available(action):
                self.add_error(
                    "action",
                    _("Coupons are not available yet: choose another action."),
                )
            elif not data.get("coupon_template_id"):
                self.add_error("coupon_template_id", _("Choose a coupon template."))
        return data
