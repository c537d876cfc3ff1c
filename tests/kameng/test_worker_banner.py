"""A silent queue is the classic reason shops stop delivering: the back office
shows a red banner when tasks go to a queue (Redis or the embedded filesystem
broker) and no worker reports in."""

import time

import pytest
from django.core.cache import cache

from kameng.celery import app as celery_app
from kameng.health import HEARTBEAT_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue_configured():
    celery_app.conf.task_always_eager = False
    cache.delete(HEARTBEAT_KEY)
    yield
    celery_app.conf.task_always_eager = True


def test_banner_when_no_worker_reported(client, role_user, queue_configured):
    client.force_login(role_user("operations"))
    page = client.get("/admin/").content.decode()
    assert 'data-testid="worker-banner"' in page
    assert "Celery" in page


def test_no_banner_with_a_fresh_heartbeat(client, role_user, queue_configured):
    cache.set(HEARTBEAT_KEY, time.time())
    client.force_login(role_user("operations"))
    assert 'data-testid="worker-banner"' not in client.get("/admin/").content.decode()


def test_stale_heartbeat_shows_the_banner(
    client, role_user, queue_configured, settings
):
    cache.set(HEARTBEAT_KEY, time.time() - settings.WORKER_STALE_AFTER_SECONDS - 5)
    client.force_login(role_user("support"))
    assert 'data-testid="worker-banner"' in client.get("/admin/").content.decode()


def test_no_banner_when_tasks_run_in_process(client, role_user):
    celery_app.conf.task_always_eager = True
    cache.delete(HEARTBEAT_KEY)
    client.force_login(role_user("operations"))
    assert 'data-testid="worker-banner"' not in client.get("/admin/").content.decode()
