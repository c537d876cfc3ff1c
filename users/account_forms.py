"""Forms of a person's own account pages (staff and buyers)."""

from django import forms
from django.utils.translation import gettext_lazy as _

INPUT_CLASS = (
    "border border-base-200 dark:border-base-700 rounded-default px-3 py-2 "
    "bg-white dark:bg-base-900 font-mono"
)


class CodeForm(forms.Form):
    """A six-digit authenticator code, or a recovery code."""

    code = forms.CharField(
        label=_("Verification code"),
        max_length=32,
        help_text=_(
            "The 6-digit code your authenticator app shows, or one of your "
            "recovery codes."
        ),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autofocus": True,
                "class": INPUT_CLASS,
                "data-testid": "code-input",
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
    )

    def clean_code(self):
        return self.cleaned_data["code"].strip()


class EnrolForm(CodeForm):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=8,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]{6,8}",
                "autofocus": True,
                "class": INPUT_CLASS,
                "data-testid": "code-input",
            }
        ),
    )
