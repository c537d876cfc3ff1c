"""Periodic work, declared once in code and synced into django-celery-beat.

Operators see (and may pause or retime) these entries in the admin under
"Periodic tasks"; `sync_beat_schedule` creates missing entries and updates the task
name and arguments of existing ones, but keeps an operator's enabled flag and timing.
Later issues append their entries to SCHEDULE.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db import transaction


@dataclass(frozen=True)
class Every:
    seconds: int


@dataclass(frozen=True)
class Cron:
    minute: str = "*"
    hour: str = "*"
    day_of_week: str = "*"
    day_of_month: str = "*"
    month_of_year: str = "*"


@dataclass(frozen=True)
class Entry:
    name: str  # shown to operators; the key of the entry
    task: str
    schedule: Every | Cron
    kwargs: dict = field(default_factory=dict)
    description: str = ""


SCHEDULE: list[Entry] = [
    Entry(
        name="kameng: worker heartbeat",
        task="kameng.record_worker_heartbeat",
        schedule=Every(seconds=30),
        description="Proves a worker and beat are alive; /healthz reads it.",
    ),
]


@transaction.atomic
def sync_beat_schedule(schedule: list[Entry] | None = None) -> dict[str, int]:
    from django_celery_beat.models import (
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
    )

    counts = {"created": 0, "updated": 0}
    for entry in schedule if schedule is not None else SCHEDULE:
        timing = {}
        if isinstance(entry.schedule, Every):
            timing["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=entry.schedule.seconds, period=IntervalSchedule.SECONDS
            )
        else:
            timing["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=entry.schedule.minute,
                hour=entry.schedule.hour,
                day_of_week=entry.schedule.day_of_week,
                day_of_month=entry.schedule.day_of_month,
                month_of_year=entry.schedule.month_of_year,
                timezone="Asia/Shanghai",
            )
        task, created = PeriodicTask.objects.get_or_create(
            name=entry.name,
            defaults={
                "task": entry.task,
                "kwargs": json.dumps(entry.kwargs),
                "description": entry.description,
                **timing,
            },
        )
        if created:
            counts["created"] += 1
            continue
        wanted = {
            "task": entry.task,
            "kwargs": json.dumps(entry.kwargs),
            "description": entry.description,
        }
        changed = [k for k, v in wanted.items() if getattr(task, k) != v]
        if changed:
            for key in changed:
                setattr(task, key, wanted[key])
            task.save(update_fields=changed)
            counts["updated"] += 1
    return counts


def sync_beat_schedule_after_migrate(sender, **kwargs):
    from kameng.migrating import is_last_post_migrate

    if is_last_post_migrate(sender):
        sync_beat_schedule()
