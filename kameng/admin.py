"""Periodic tasks under their Chinese names.

django-celery-beat shows each entry's `name`, the stable key kameng.beat syncs
by ("catalog: stock alerts"), and column headers taken from method names
("Scheduler"). Its admin is re-registered here with a translated title per task
(keyed by the task, so a renamed entry keeps its title) and described columns.
"""

from cron_descriptor import (
    FormatException,
    MissingFieldException,
    Options,
    WrongArgumentException,
    get_description,
)
from django.contrib import admin
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import (
    ClockedScheduleAdmin,
    CrontabScheduleAdmin,
    IntervalScheduleAdmin,
    SolarScheduleAdmin,
)
from django_celery_beat.admin import PeriodicTaskAdmin as BasePeriodicTaskAdmin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from kameng.admin_base import StrictQueryMixin

# What operators read for each scheduled task of kameng.beat.SCHEDULE.
TASK_TITLES = {
    "kameng.record_worker_heartbeat": _("Worker heartbeat"),
    "catalog.apply_product_schedules": _("Scheduled listing and unlisting"),
    "catalog.check_stock_alerts": _("Stock alert check"),
    "orders.settle_pending_payments": _("Settle pending gateway payments"),
    "orders.cancel_unpaid_orders": _("Cancel unpaid orders"),
    "orders.sweep_fulfilments": _("Top-up sweeper"),
    "orders.drain_paid_announcements": _("Paid-order announcement sweeper"),
    "catalog.sweep_card_batches": _("Card batch sweeper"),
    "catalog.sweep_import_files": _("Import file sweeper"),
    "users.review_member_levels": _("Member level review"),
    "users.roll_up_behaviour": _("Behaviour roll-up"),
    "users.check_ledgers": _("Ledger check"),
    "orders.recount_risk_flags": _("Risk flag recount"),
    "orders.sweep_gateway_refunds": _("Gateway refund sweeper"),
    "marketing.refresh_segments": _("Nightly segments and RFM scores"),
    "marketing.run_strategies": _("Segment strategies"),
    "marketing.run_coupon_campaigns": _("Automatic coupon campaigns"),
    "marketing.sweep_coupon_issue_jobs": _("Coupon issue job sweeper"),
    "marketing.expire_points": _("Points expiry"),
    "marketing.check_points": _("Points ledger check"),
    "kameng.seal_audit": _("Audit trail sealing"),
    "kameng.verify_audit": _("Audit trail verification"),
    "orders.sweep_order_exports": _("Order export sweeper"),
    "orders.refund_expired_groups": _("Group buy deadlines"),
    "orders.compute_co_purchases": _("Bought-together recommendations"),
    "analytics.refresh_rollups": _("Sales rollup refresh"),
    "analytics.close_rollups": _("Sales rollup nightly close"),
    "analytics.refresh_forecasts": _("Demand forecasts"),
    "analytics.run_scheduled_report": _("Scheduled report"),
}


def task_title(task: PeriodicTask) -> str:
    """A periodic task's name for people: its title, else the stored name."""
    title = TASK_TITLES.get(task.task)
    return str(title) if title else task.name


# beat declares this one verbose name as a plain string ("Task Name"), so no
# catalogue can reach it; every other label of the model is translatable.
PeriodicTask._meta.get_field("task").verbose_name = _("Celery task")


def crontab_in_words(crontab: CrontabSchedule) -> str:
    """ "在 03:00 Asia/Shanghai": beat's own description is English whatever the
    page's language; cron-descriptor says it in Chinese when asked."""
    options = Options()
    options.use_24hour_time_format = True
    if (translation.get_language() or "").startswith("zh"):
        options.locale_code = "zh_CN"
    expression = " ".join(
        (
            crontab.minute,
            crontab.hour,
            crontab.day_of_month,
            crontab.month_of_year,
            crontab.day_of_week,
        )
    )
    try:
        return f"{get_description(expression, options)} {crontab.timezone}"
    except (FormatException, MissingFieldException, WrongArgumentException):
        return crontab.human_readable


admin.site.unregister(PeriodicTask)

BEAT_CHANGING_ACTIONS = ("enable_tasks", "disable_tasks", "toggle_tasks", "run_tasks")


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(StrictQueryMixin, BasePeriodicTaskAdmin):
    list_display = (
        "title",
        "about",
        "enabled",
        "schedule_kind",
        "interval",
        "start_time",
        "last_run_at",
        "one_off",
    )

    @admin.display(description=_("task"), ordering="name")
    def title(self, task):
        return task_title(task)

    @admin.display(description=_("schedule"))
    def schedule_kind(self, task):
        return task.scheduler

    @admin.display(description=_("crontab in words"))
    def crontab_translation(self, task):
        return crontab_in_words(task.crontab) if task.crontab_id else "—"

    @admin.display(description=_("description"))
    def about(self, task):
        """The stored description is kameng.beat's English: say it in the
        page's language (an operator's own text has no translation and stays)."""
        return gettext(task.description) if task.description else "—"

    def get_fieldsets(self, request, obj=None):
        """Those who may only look read the description in their language."""
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        return [
            (title, {**options, "fields": description_in_words(options["fields"])})
            for title, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "about")

    def get_actions(self, request):
        """beat's own actions carry no permission, so those who may only look
        (operations) could run, enable or disable tasks from the list."""
        actions = super().get_actions(request)
        if not self.has_change_permission(request):
            for name in BEAT_CHANGING_ACTIONS:
                actions.pop(name, None)
        return actions


def description_in_words(fields):
    return tuple("about" if name == "description" else name for name in fields)


# beat's schedule admins read the URL as strictly as ours (kameng.admin_base):
# its clocked-schedule add form answered 500 to ?clocked_time=x.
admin.site.unregister(
    [ClockedSchedule, CrontabSchedule, IntervalSchedule, SolarSchedule]
)


@admin.register(ClockedSchedule)
class StrictClockedScheduleAdmin(StrictQueryMixin, ClockedScheduleAdmin):
    pass


@admin.register(CrontabSchedule)
class StrictCrontabScheduleAdmin(StrictQueryMixin, CrontabScheduleAdmin):
    list_display = ("__str__", "in_words")
    fields = (
        "in_words",
        "minute",
        "hour",
        "day_of_month",
        "month_of_year",
        "day_of_week",
        "timezone",
    )
    readonly_fields = ("in_words",)

    @admin.display(description=_("crontab in words"))
    def in_words(self, crontab):
        return crontab_in_words(crontab)


@admin.register(IntervalSchedule)
class StrictIntervalScheduleAdmin(StrictQueryMixin, IntervalScheduleAdmin):
    pass


@admin.register(SolarSchedule)
class StrictSolarScheduleAdmin(StrictQueryMixin, SolarScheduleAdmin):
    pass


# Two-factor devices (django-otp) are each person's own, set up from their account
# page and reset by `manage.py reset_two_factor`; django-otp's admin would list
# them with their secret keys.
admin.site.unregister([TOTPDevice, StaticDevice])
