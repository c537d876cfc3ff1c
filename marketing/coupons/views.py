"""Back-office coupon pages: issue a template to named buyers, and the report
per template (profit only for those who may see costs)."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kameng.admin_pages import render_page, staff_page
from kameng.exceptions import DomainError
from kameng.navigation import Page, register_page
from marketing.coupons.issue import issue_to_named_buyers
from marketing.coupons.rules import describe_stacking, describe_value
from marketing.coupons.selectors import template_report
from marketing.models import CouponTemplate

ISSUE = "marketing.issue_coupon"
REPORT = "marketing.view_coupon_report"

register_page(
    Page(
        app_label="marketing",
        title=gettext_lazy("Coupon report"),
        url_name="marketing:coupon_report",
        permission=REPORT,
        icon="confirmation_number",
    )
)


class NamedIssueForm(forms.Form):
    buyers = forms.CharField(
        label=gettext_lazy("Buyers"),
        widget=forms.Textarea(attrs={"rows": 8, "class": "w-full border rounded"}),
        help_text=gettext_lazy("One username or phone number per line."),
        max_length=200_000,
    )
    issue_key = forms.CharField(widget=forms.HiddenInput, max_length=40)


@staff_page(ISSUE)
def coupon_named_issue(request, pk: int):
    template = get_object_or_404(CouponTemplate, pk=pk)
    errors: list[str] = []
    if request.method == "POST":
        form = NamedIssueForm(request.POST)
        if form.is_valid():
            try:
                issued = issue_to_named_buyers(
                    template=template,
                    text=form.cleaned_data["buyers"],
                    issue_key="manual " + form.cleaned_data["issue_key"],
                    actor=request.user,
                )
            except DomainError as exc:
                errors = exc.extra.get("errors") or [exc.message]
            else:
                messages.success(
                    request,
                    _("%(count)s coupons of “%(name)s” issued.")
                    % {"count": issued, "name": template.name},
                )
                return redirect(
                    reverse("admin:marketing_coupon_changelist")
                    + f"?template__id__exact={template.pk}"
                )
        else:
            errors = [error for field in form.errors.values() for error in field]
    else:
        form = NamedIssueForm(initial={"issue_key": uuid.uuid4().hex})
    return render_page(
        request,
        "marketing/coupon_named_issue.html",
        {
            "form": form,
            "template": template,
            "value": describe_value(template),
            "stacking": describe_stacking(template),
            "errors": errors,
            "page_id": "coupon-named-issue",
        },
        title=_("Issue “%(name)s” to named buyers") % {"name": template.name},
    )


@staff_page(REPORT)
def coupon_report(request):
    rows = template_report()
    for row in rows:
        row["value"] = describe_value(row["template"])
    return render_page(
        request,
        "marketing/coupon_report.html",
        {
            "rows": rows,
            "show_profit": request.user.has_perm("catalog.view_cost"),
            "page_id": "coupon-report",
        },
        title=_("Coupon report"),
    )
