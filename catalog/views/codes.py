"""Revealing one card code to a member of staff: a deliberate, audited step."""

from django import forms
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from catalog.models import CardCode
from catalog.services.codes import reveal_code
from kameng.admin_pages import render_page, staff_page
from kameng.client_address import client_ip


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why do you need to see it?"),
        max_length=200,
        help_text=gettext_lazy("Kept in the audit log with your name and the time."),
    )


@never_cache
@staff_page("catalog.reveal_cardcode")
def reveal(request, pk: int):
    code = get_object_or_404(CardCode.objects.select_related("sku", "batch"), pk=pk)
    form = RevealForm(request.POST or None)
    text = None
    if request.method == "POST" and form.is_valid():
        text = reveal_code(
            code=code,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            ip_address=client_ip(request),
        )
    return render_page(
        request,
        "catalog/codes/reveal.html",
        {"code": code, "form": form, "text": text, "page_id": "code-reveal"},
        title=_("Reveal card code"),
    )
