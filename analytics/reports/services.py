"""Report runs: asked for on a page or by the template's cron schedule, made by a
worker (progress on the run row), kept as files, mailed to the recipients.

- `request_report(template=..., requester=...)`: a queued ReportRun for the
  template's period; its files show only what the requester may see (no cost or
  profit without catalog.view_cost). The worker makes it (`make_report`).
- `run_scheduled_report(template_id=...)`: what the template's beat entry calls;
  the run shows what the template's owner may see and is mailed.
- `save_report_template(...)`: validates and saves a template and keeps its
  django-celery-beat entry (a crontab in Asia/Shanghai) in step with it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from analytics.dashboard import Period
from analytics.models import ReportRun, ReportTemplate
from analytics.reports.content import build_content, report_period
from analytics.reports.excel import write_excel
from analytics.reports.pdf import write_pdf
from kameng.exceptions import DomainError

logger = logging.getLogger(__name__)
COST_PERMISSION = "catalog.view_cost"
RUN_TASK = "analytics.run_scheduled_report"
R = ReportRun.Status


class ReportError(DomainError):
    code = "analytics_report_error"


def report_dir() -> Path:
    path = Path(settings.REPORT_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- templates and their schedules ------------------------------------------------


def parse_recipients(text: str) -> list[str]:
    """One address per line (commas and semicolons also separate); a bad one is
    named in the error."""
    found = []
    for raw in text.replace(",", "\n").replace(";", "\n").splitlines():
        address = raw.strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ValidationError(
                _("“%(address)s” is not an email address.") % {"address": address}
            ) from exc
        found.append(address)
    return found


CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")


def parse_cron(text: str) -> dict[str, str] | None:
    """`m h dom mon dow` → CrontabSchedule fields, or None for an empty text."""
    parts = text.split()
    if not parts:
        return None
    if len(parts) != 5:
        raise ValidationError(
            _(
                "A schedule has five fields: minute hour day-of-month month "
                "day-of-week, e.g. 0 8 * * 1."
            )
        )
    fields = dict(zip(CRON_FIELDS, parts, strict=True))
    try:
        CrontabSchedule(**fields, timezone=settings.TIME_ZONE).schedule  # noqa: B018
    except ValueError as exc:
        raise ValidationError(
            _("The schedule “%(cron)s” is not valid: %(problem)s")
            % {"cron": text.strip(), "problem": exc}
        ) from exc
    return fields


def task_name(template: ReportTemplate) -> str:
    return (_("Report %(id)s: %(name)s") % {"id": template.pk, "name": template.name})[
        :200
    ]


@transaction.atomic
def sync_report_schedule(template: ReportTemplate) -> PeriodicTask | None:
    """Create, update or remove the template's beat entry."""
    existing = PeriodicTask.objects.filter(
        task=RUN_TASK, kwargs__contains=f'"template_id": {template.pk}}}'
    )
    fields = parse_cron(template.schedule)
    if fields is None or not template.enabled:
        existing.delete()
        return None
    crontab, _created = CrontabSchedule.objects.get_or_create(
        **fields, timezone=settings.TIME_ZONE
    )
    entry = existing.first() or PeriodicTask(task=RUN_TASK)
    entry.name = task_name(template)
    entry.crontab = crontab
    entry.interval = None
    entry.kwargs = json.dumps({"template_id": template.pk})
    entry.enabled = True
    entry.description = _("Makes and mails the report “%(name)s”.") % {
        "name": template.name
    }
    entry.save()
    return entry


@transaction.atomic
def save_report_template(*, template: ReportTemplate, actor=None) -> ReportTemplate:
    template.recipients = "\n".join(parse_recipients(template.recipients))
    parse_cron(template.schedule)
    if template.owner_id is None and actor is not None:
        template.owner = actor
    template.full_clean()
    template.save()
    sync_report_schedule(template)
    return template


@transaction.atomic
def delete_report_templates(*, templates) -> None:
    """Delete templates with their runs and their beat entries."""
    for template in templates:
        template.enabled = False
        sync_report_schedule(template)  # drops its entry
        template.delete()


# --- runs ---------------------------------------------------------------------


def can_see_cost(user) -> bool:
    return bool(user and user.has_perm(COST_PERMISSION))


@transaction.atomic
def request_report(
    *, template: ReportTemplate, requester, scheduled: bool = False, on=None
) -> ReportRun:
    """A queued run of the template's last whole period; the worker makes it."""
    if not template.enabled:
        raise ReportError(_("This report template is switched off."))
    period = report_period(template.period, on=on or timezone.localdate())
    run = ReportRun.objects.create(
        template=template,
        requested_by=requester if getattr(requester, "pk", None) else None,
        scheduled=scheduled,
        first_day=period.since,
        last_day=period.until,
        with_cost=can_see_cost(requester),
    )
    return run


def set_progress(run: ReportRun, progress: int, **fields) -> None:
    run.progress = progress
    for name, value in fields.items():
        setattr(run, name, value)
    ReportRun.objects.filter(pk=run.pk).update(progress=progress, **fields)


def make_report(*, run_id: int) -> ReportRun:
    """Make a run's files (idempotent: a done run is left as it is). A failure
    marks the run failed with its reason; nothing half-written is offered."""
    with transaction.atomic():
        run = (
            ReportRun.objects.select_for_update()
            .select_related("template")
            .get(pk=run_id)
        )
        if run.status in (R.DONE, R.FAILED):
            return run
        run.status = R.RUNNING
        run.save(update_fields=["status"])
    template = run.template
    period = Period(since=run.first_day, until=run.last_day)
    try:
        set_progress(run, 10)
        content = build_content(
            template=template, period=period, with_cost=run.with_cost
        )
        set_progress(run, 50, summary=content.summary)
        folder = report_dir()
        stem = f"report-{run.pk}-{run.first_day:%Y%m%d}-{run.last_day:%Y%m%d}"
        files = {}
        if template.formats in (template.Formats.BOTH, template.Formats.EXCEL):
            write_excel(content, folder / f"{stem}.xlsx")
            files["excel_file"] = f"{stem}.xlsx"
            set_progress(run, 70, **files)
        if template.formats in (template.Formats.BOTH, template.Formats.PDF):
            write_pdf(content, folder / f"{stem}.pdf", generated_at=timezone.now())
            files["pdf_file"] = f"{stem}.pdf"
            set_progress(run, 95, **files)
    except Exception as exc:  # any failure: the run says so, the page shows it
        logger.exception("report run %s failed", run.pk)
        set_progress(
            run,
            run.progress,
            status=R.FAILED,
            failure=str(exc)[:300],
            finished_at=timezone.now(),
        )
        return run
    set_progress(run, 100, status=R.DONE, finished_at=timezone.now())
    if run.scheduled:
        mail_report(run=run)
    return run


def mail_report(*, run: ReportRun) -> int:
    """Mail the run's files to the template's recipients; a copy of the message
    is kept as an .eml beside the files (what the back office lists)."""
    template = run.template
    recipients = parse_recipients(template.recipients)
    if not recipients:
        return 0
    subject = _("%(name)s, %(since)s – %(until)s") % {
        "name": template.name,
        "since": run.first_day.isoformat(),
        "until": run.last_day.isoformat(),
    }
    message = EmailMessage(
        subject=subject,
        body=run.summary or subject,
        to=recipients,
    )
    folder = report_dir()
    for name in (run.excel_file, run.pdf_file):
        if name:
            message.attach_file(str(folder / name))
    sent = message.send()
    mail_file = f"mail-{run.pk}.eml"
    (folder / mail_file).write_bytes(message.message().as_bytes())
    ReportRun.objects.filter(pk=run.pk).update(
        mailed_to="\n".join(recipients), mailed_at=timezone.now(), mail_file=mail_file
    )
    run.mailed_to, run.mail_file = "\n".join(recipients), mail_file
    return sent


def run_scheduled_report(*, template_id: int) -> ReportRun | None:
    template = (
        ReportTemplate.objects.select_related("owner").filter(pk=template_id).first()
    )
    if template is None or not template.enabled:
        return None
    run = request_report(template=template, requester=template.owner, scheduled=True)
    return make_report(run_id=run.pk)


def run_file(run: ReportRun, kind: str) -> Path | None:
    name = {"excel": run.excel_file, "pdf": run.pdf_file, "mail": run.mail_file}.get(
        kind
    )
    if not name:
        return None
    path = report_dir() / name
    return path if path.is_file() else None
