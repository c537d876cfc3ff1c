"""What the dashboard and the comparison page read from their URL: the period
(today / 7 d / 30 d / a custom range) and the drill-down filters, so a view can
be shared as a link."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from analytics.dashboard import Period, Scope, named_period, today, week_start
from analytics.forms import MAX_DAYS

PERIOD_CHOICES = [
    ("today", _("Today")),
    ("7d", _("7 days")),
    ("30d", _("30 days")),
    ("custom", _("Custom")),
]
SCOPE_FIELDS = ("category", "product", "sku", "level", "segment", "weekday", "hour")


def checked_range(since, until, *, label) -> Period:
    if since > until:
        raise forms.ValidationError(
            _("%(period)s: the start date must not be after the end date.")
            % {"period": label},
            code="order",
        )
    if (until - since).days + 1 > MAX_DAYS:
        raise forms.ValidationError(
            _("%(period)s: pick at most %(days)d days.")
            % {"period": label, "days": MAX_DAYS},
            code="too_long",
        )
    return Period(since=since, until=until)


class ScopeForm(forms.Form):
    """The drill-down filters (all optional, ids as the charts link them)."""

    category = forms.IntegerField(label=_("Category"), required=False, min_value=1)
    product = forms.IntegerField(label=_("Product"), required=False, min_value=1)
    sku = forms.IntegerField(label=_("SKU"), required=False, min_value=1)
    level = forms.IntegerField(label=_("Member level"), required=False, min_value=-1)
    segment = forms.IntegerField(label=_("Segment"), required=False, min_value=1)
    weekday = forms.IntegerField(
        label=_("Weekday"), required=False, min_value=1, max_value=7
    )
    hour = forms.IntegerField(
        label=_("Hour"), required=False, min_value=0, max_value=23
    )

    def scope(self) -> Scope:
        """The filters that were valid (a wrong one is dropped and reported)."""
        data = getattr(self, "cleaned_data", {})
        return Scope(**{name: data.get(name) for name in SCOPE_FIELDS})


class DashboardForm(ScopeForm):
    period = forms.ChoiceField(
        label=_("Period"), required=False, choices=PERIOD_CHOICES
    )
    since = forms.DateField(label=_("From"), required=False)
    until = forms.DateField(label=_("To"), required=False)

    def clean(self):
        data = super().clean()
        name = data.get("period") or "30d"
        if name != "custom":
            data["period"] = name
            return data
        until = data.get("until") or today()
        since = data.get("since") or until
        data["range"] = checked_range(since, until, label=_("Custom period"))
        return data

    def chosen(self) -> tuple[str, Period]:
        """The period asked for; the last 30 days if the form is wrong."""
        if not self.is_valid():
            return "30d", named_period("30d")
        name = self.cleaned_data["period"]
        if name == "custom":
            return name, self.cleaned_data["range"]
        return name, named_period(name)


def last_full_week() -> Period:
    monday = week_start(today()) - timedelta(weeks=1)
    return Period(since=monday, until=monday + timedelta(days=6))


class CompareForm(ScopeForm):
    """Period A (e.g. a campaign week) against period B (a normal week); by
    default last week against the week before."""

    a_since = forms.DateField(label=_("Period A from"), required=False)
    a_until = forms.DateField(label=_("Period A to"), required=False)
    b_since = forms.DateField(label=_("Period B from"), required=False)
    b_until = forms.DateField(label=_("Period B to"), required=False)

    def clean(self):
        data = super().clean()
        default_a = last_full_week()
        default_b = default_a.previous()
        data["a"] = checked_range(
            data.get("a_since") or default_a.since,
            data.get("a_until") or default_a.until,
            label=_("Period A"),
        )
        data["b"] = checked_range(
            data.get("b_since") or default_b.since,
            data.get("b_until") or default_b.until,
            label=_("Period B"),
        )
        return data

    def periods(self) -> tuple[Period, Period]:
        if not self.is_valid():
            default_a = last_full_week()
            return default_a, default_a.previous()
        return self.cleaned_data["a"], self.cleaned_data["b"]
