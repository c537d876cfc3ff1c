"""Periodic work is declared in code and shows up, editable, in the admin."""

import pytest
from django_celery_beat.models import PeriodicTask

from kameng.beat import SCHEDULE, Cron, Entry, sync_beat_schedule


@pytest.mark.django_db
def test_migrate_put_every_schedule_entry_in_the_admin(client, role_user):
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert {entry.name for entry in SCHEDULE} <= names
    client.force_login(role_user("operations"))
    response = client.get("/admin/django_celery_beat/periodictask/")
    listed = {task.name for task in response.context["cl"].result_list}
    assert {entry.name for entry in SCHEDULE} <= listed
    assert "工作进程心跳" in response.content.decode()  # titled in words


@pytest.mark.django_db
def test_sync_keeps_an_operators_choices():
    task = PeriodicTask.objects.get(name="kameng: worker heartbeat")
    task.enabled = False
    task.save()
    assert sync_beat_schedule() == {"created": 0, "updated": 0}
    assert PeriodicTask.objects.get(pk=task.pk).enabled is False


@pytest.mark.django_db
def test_sync_creates_cron_entries_and_updates_changed_tasks():
    entry = Entry(
        "test: nightly", "kameng.record_worker_heartbeat", Cron(minute="5", hour="3")
    )
    assert sync_beat_schedule([entry]) == {"created": 1, "updated": 0}
    task = PeriodicTask.objects.get(name="test: nightly")
    assert (task.crontab.minute, task.crontab.hour) == ("5", "3")
    moved = Entry("test: nightly", "kameng.other_task", Cron(minute="5", hour="3"))
    assert sync_beat_schedule([moved]) == {"created": 0, "updated": 1}
    assert PeriodicTask.objects.get(pk=task.pk).task == "kameng.other_task"


def test_every_scheduled_task_is_registered_with_celery():
    from kameng.celery import app

    app.loader.import_default_modules()
    for entry in SCHEDULE:
        assert entry.task in app.tasks, entry.task


@pytest.mark.django_db
def test_heartbeat_task_is_what_healthz_reads():
    from django.core.cache import cache

    from kameng.health import HEARTBEAT_KEY
    from kameng.tasks import record_worker_heartbeat_task

    cache.delete(HEARTBEAT_KEY)
    record_worker_heartbeat_task.delay()
    assert cache.get(HEARTBEAT_KEY) is not None
