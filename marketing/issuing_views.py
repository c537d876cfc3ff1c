"""Back-office pages of coupon issuing: issue a template to a segment (a job
with a progress bar htmx refreshes), and the Excel file of a redeem-code
batch. Views parse and render; marketing.issuing and marketing.redeem_codes
hold the rules."""

from __future__ import annotations

from io import BytesIO

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from openpyxl import Workbook

from kameng.admin_pages import render_page, staff_page
from kameng.exceptions import DomainError
from kameng.navigation import Page, register_page
from marketing.issuing import (
    default_job_key,
    issue_percent,
    jobs_for_page,
    start_issue_job,
)
from marketing.issuing_tasks import enqueue_issue_job
from marketing.models import CouponIssueJob, CouponTemplate, RedeemCodeBatch, Segment
from marketing.redeem_codes import export_rows

ISSUE = "marketing.issue_coupon"
EXPORT = "marketing.export_redeem_codes"

register_page(
    Page(
        app_label="marketing",
        title=gettext_lazy("Issue coupons to a segment"),
        url_name="marketing:coupon_issue",
        permission=ISSUE,
        icon="local_activity",
    )
)

INPUT_CLASS = (
    "border border-base-200 dark:border-base-700 rounded-default px-3 py-2 "
    "bg-white dark:bg-base-900 w-full"
)


class SegmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, segment):
        return _("%(name)s (%(count)s buyers)") % {
            "name": segment.name,
            "count": segment.member_count,
        }


class IssueForm(forms.Form):
    template = forms.ModelChoiceField(
        label=gettext_lazy("Coupon template"),
        queryset=CouponTemplate.objects.filter(active=True).order_by("-id"),
        empty_label=None,
    )
    segment = SegmentChoiceField(
        label=gettext_lazy("Segment"),
        queryset=Segment.objects.order_by("-builtin", "name"),
        empty_label=None,
        help_text=gettext_lazy(
            "Its members as of the last refresh (nightly, or when it was saved)."
        ),
    )
    issue_key = forms.CharField(
        label=gettext_lazy("Issue key"),
        max_length=40,
        help_text=gettext_lazy(
            "A buyer gets at most one coupon of a template per issue key: "
            "issuing again with the same key (to the same or another segment) "
            "only reaches buyers who have none yet."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", INPUT_CLASS)


@never_cache
@staff_page(ISSUE)
def coupon_issue(request):
    form = IssueForm(request.POST or None, initial={"issue_key": default_job_key()})
    if request.method == "POST" and form.is_valid():
        try:
            job = start_issue_job(
                template=form.cleaned_data["template"],
                segment=form.cleaned_data["segment"],
                issue_key=form.cleaned_data["issue_key"],
                actor=request.user,
            )
        except DomainError as exc:
            form.add_error(exc.extra.get("field"), exc.message)
        else:
            enqueue_issue_job(job.pk)
            messages.success(
                request,
                _("Issue job #%(id)s queued.") % {"id": job.pk},
            )
            return redirect("marketing:coupon_issue_job", job.pk)
    return render_page(
        request,
        "marketing/coupon_issue.html",
        {"form": form, "jobs": jobs_for_page(), "page_id": "coupon-issue"},
        title=_("Issue coupons to a segment"),
    )


def _job_context(job: CouponIssueJob) -> dict:
    return {
        "job": job,
        "percent": issue_percent(job),
        "polling": job.status
        in (CouponIssueJob.Status.QUEUED, CouponIssueJob.Status.RUNNING),
        "already_had": max(0, job.processed - job.issued),
    }


@never_cache
@staff_page(ISSUE)
def coupon_issue_job(request, pk: int):
    job = get_object_or_404(
        CouponIssueJob.objects.select_related("template", "segment", "requested_by"),
        pk=pk,
    )
    return render_page(
        request,
        "marketing/coupon_issue_job.html",
        {**_job_context(job), "page_id": "coupon-issue-job"},
        title=_("Coupon issue job #%(id)s") % {"id": job.pk},
    )


@never_cache
@require_GET
@staff_page(ISSUE)
def coupon_issue_progress(request, pk: int):
    """The fragment htmx polls every second until the job is done."""
    job = get_object_or_404(CouponIssueJob, pk=pk)
    return render(request, "marketing/_coupon_issue_progress.html", _job_context(job))


@never_cache
@require_GET
@staff_page(EXPORT)
def redeem_batch_export(request, pk: int):
    """The batch's codes as an Excel file (built in memory: a batch holds at
    most 50,000 codes)."""
    batch = get_object_or_404(RedeemCodeBatch.objects.select_related("template"), pk=pk)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Redeem codes"))
    for row in export_rows(batch):
        sheet.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument"
        ".spreadsheetml.sheet",
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="redeem-codes-{batch.pk}-{stamp}.xlsx"'
    )
    return response
