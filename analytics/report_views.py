"""Reports (报表) in the back office: the templates, 立即生成 with a progress bar,
past runs with their Excel, PDF and the mail that went out. Templates are
edited in the admin (analytics.admin); runs are made by the worker."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from analytics.models import ReportRun, ReportTemplate
from analytics.reports.services import (
    COST_PERMISSION,
    ReportError,
    request_report,
    run_file,
)
from analytics.tasks import queue_report
from kameng.admin_pages import render_page, staff_page
from kameng.navigation import Page, register_page
from kameng.permission_denied import MissingPermission

PERMISSION = "analytics.view_reporttemplate"
RECENT_RUNS = 30

register_page(
    Page(
        app_label="analytics",
        title=gettext_lazy("Reports"),
        url_name="analytics:reports",
        permission=PERMISSION,
        icon="summarize",
    )
)


@staff_page(PERMISSION)
@require_GET
def reports_page(request):
    runs = ReportRun.objects.select_related("template", "requested_by").order_by("-id")[
        :RECENT_RUNS
    ]
    return render_page(
        request,
        "analytics/reports.html",
        {
            "templates": ReportTemplate.objects.filter(enabled=True).order_by("name"),
            "runs": runs,
            "page_id": "reports",
            "can_edit": request.user.has_perm("analytics.change_reporttemplate"),
        },
        title=_("Reports"),
    )


@staff_page(PERMISSION)
@require_POST
def generate(request, pk: int):
    template = get_object_or_404(ReportTemplate, pk=pk)
    try:
        run = request_report(template=template, requester=request.user)
    except ReportError as exc:
        messages.error(request, exc.message)
        return redirect("analytics:reports")
    queue_report(run_id=run.pk)
    return redirect("analytics:report_run", pk=run.pk)


def progress_context(run: ReportRun) -> dict:
    return {
        "run": run,
        "polling": run.status in (ReportRun.Status.QUEUED, ReportRun.Status.RUNNING),
    }


@staff_page(PERMISSION)
@require_GET
def run_page(request, pk: int):
    run = get_object_or_404(ReportRun.objects.select_related("template"), pk=pk)
    return render_page(
        request,
        "analytics/report_run.html",
        {**progress_context(run), "page_id": "report-run"},
        title=str(run.template),
    )


@staff_page(PERMISSION)
@require_GET
def run_progress(request, pk: int):
    run = get_object_or_404(ReportRun.objects.select_related("template"), pk=pk)
    return TemplateResponse(
        request, "analytics/_report_progress.html", progress_context(run)
    )


CONTENT_TYPES = {
    "excel": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "mail": "message/rfc822",
}


@staff_page(PERMISSION)
@require_GET
def download(request, pk: int, kind: str):
    run = get_object_or_404(ReportRun.objects.select_related("template"), pk=pk)
    if run.with_cost and not request.user.has_perm(COST_PERMISSION):
        # A file made with cost and profit columns is for those who may see them.
        raise MissingPermission([COST_PERMISSION])
    path = run_file(run, kind) if kind in CONTENT_TYPES else None
    if path is None:
        raise Http404(_("This file does not exist (any more)."))
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"{run.template.name}-{run.first_day:%Y%m%d}-{run.last_day:%Y%m%d}"
        + path.suffix,
        content_type=CONTENT_TYPES[kind],
    )
