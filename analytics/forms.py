"""The period (and measure) a visitor picks on the insight pages."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DEFAULT_DAYS = 30
MAX_DAYS = 366


def today() -> date:
    return timezone.localdate(timezone=timezone.get_default_timezone())


class PeriodForm(forms.Form):
    """Whole days in shop time, both ends included; the last 30 days when empty."""

    since = forms.DateField(label=_("From"), required=False)
    until = forms.DateField(label=_("To"), required=False)

    def clean(self):
        data = super().clean()
        until = data.get("until") or today()
        since = data.get("since") or until - timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            raise forms.ValidationError(
                _("The start date must not be after the end date."), code="order"
            )
        if (until - since).days + 1 > MAX_DAYS:
            raise forms.ValidationError(
                _("Pick at most %(days)d days.") % {"days": MAX_DAYS}, code="too_long"
            )
        data["since"], data["until"] = since, until
        return data

    @classmethod
    def default_period(cls) -> tuple[date, date]:
        until = today()
        return until - timedelta(days=DEFAULT_DAYS - 1), until


class HourDemandForm(PeriodForm):
    measure = forms.ChoiceField(
        label=_("Measure"),
        required=False,
        choices=[
            ("orders", _("Orders")),
            ("units", _("Units")),
            ("gmv", _("GMV")),
        ],
    )

    def clean_measure(self):
        return self.cleaned_data.get("measure") or "orders"
