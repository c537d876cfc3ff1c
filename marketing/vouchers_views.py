"""The voucher pages: generate a batch (codes shown once, on the answer to the
form) and export a batch's codes to Excel (recorded in the audit log)."""

from __future__ import annotations

from django import forms
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Sku
from kameng.admin_pages import render_page, staff_page
from kameng.exceptions import DomainError
from kameng.navigation import Page, register_page
from marketing.models import VoucherBatch
from marketing.vouchers import (
    EXPORT_PERMISSION,
    MAX_BATCH,
    export_voucher_batch,
    generate_voucher_batch,
)

ADD = "marketing.add_voucherbatch"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

register_page(
    Page(
        app_label="marketing",
        title=gettext_lazy("Generate vouchers"),
        url_name="marketing:voucher_generate",
        permission=ADD,
        icon="redeem",
    )
)


class VoucherBatchForm(forms.Form):
    sku_code = forms.CharField(label=gettext_lazy("SKU code"), max_length=40)
    count = forms.IntegerField(
        label=gettext_lazy("number of codes"), min_value=1, max_value=MAX_BATCH
    )
    valid_from = forms.DateField(
        label=gettext_lazy("valid from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(
        label=gettext_lazy("valid until"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    note = forms.CharField(label=gettext_lazy("note"), max_length=200, required=False)

    def clean_sku_code(self):
        code = self.cleaned_data["sku_code"].strip()
        sku = Sku.objects.select_related("product").filter(code=code).first()
        if sku is None:
            raise forms.ValidationError(
                _("No SKU has the code %(code)s.") % {"code": code}
            )
        self.sku = sku
        return code


@staff_page(ADD)
def voucher_generate(request):
    batch, codes = None, []
    today = timezone.localdate()
    form = VoucherBatchForm(initial={"valid_from": today, "count": 100})
    if request.method == "POST":
        form = VoucherBatchForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                batch, codes = generate_voucher_batch(
                    sku=form.sku,
                    count=data["count"],
                    valid_from=data["valid_from"],
                    valid_until=data["valid_until"],
                    note=data["note"],
                    actor=request.user,
                )
            except DomainError as exc:
                form.add_error(exc.extra.get("field"), exc.message)
    return render_page(
        request,
        "marketing/voucher_generate.html",
        {
            "form": form,
            "batch": batch,
            "codes": codes,
            "may_export": request.user.has_perm(EXPORT_PERMISSION),
        },
        title=_("Generate vouchers"),
    )


@staff_page(EXPORT_PERMISSION)
def voucher_export(request, pk: int):
    batch = get_object_or_404(VoucherBatch, pk=pk)
    content = export_voucher_batch(batch=batch, actor=request.user)
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="vouchers-{batch.pk}.xlsx"'
    response["Cache-Control"] = "no-store"
    return response
