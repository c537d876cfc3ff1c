"""/healthz: one JSON answer naming the state of each component."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.checks import run_checks
from django.db import DatabaseError
from django.test import Client

from kameng.celery import app as celery_app
from kameng.health import HEARTBEAT_KEY, record_worker_heartbeat

ROOT = Path(__file__).resolve().parents[2]


HEALTH_TOKEN = "monitoring-token-for-tests"


@pytest.fixture
def client(settings):
    """Monitoring, holding the health token: it sees every component."""
    settings.HEALTHZ_TOKEN = HEALTH_TOKEN
    return Client(headers={"X-Health-Token": HEALTH_TOKEN})


@pytest.fixture
def queued():
    """Tasks go to the broker, as under `make run` (tests run them eagerly)."""
    celery_app.conf.task_always_eager = False
    cache.delete(HEARTBEAT_KEY)
    yield
    celery_app.conf.task_always_eager = True


@pytest.fixture
def embedded_broker(settings, tmp_path):
    """The embedded default's broker: no Redis, a message folder of its own (a
    fresh clone run with REDIS_URL set has no var/broker/)."""
    settings.REDIS_URL = ""
    settings.BROKER_DIR = tmp_path / "broker"
    settings.BROKER_DIR.mkdir()


@pytest.mark.django_db
def test_healthz_reports_each_component(client, embedded_broker, queued):
    record_worker_heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["broker"]["transport"] == "filesystem"
    assert body["worker"]["ok"] is True
    assert body["worker"]["heartbeat_age_s"] <= 1
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_embedded_healthz_waits_for_a_worker_heartbeat(
    client, settings, embedded_broker, queued
):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"]["ok"] is False
    assert response.json()["worker"]["error"] == "no recent worker heartbeat"

    cache.set(HEARTBEAT_KEY, time.time() - settings.WORKER_STALE_AFTER_SECONDS - 5)
    assert client.get("/healthz").status_code == 503

    record_worker_heartbeat()
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_healthz_names_a_missing_broker_folder(client, settings, queued, tmp_path):
    settings.REDIS_URL = ""
    settings.BROKER_DIR = tmp_path / "gone"
    record_worker_heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["broker"]["ok"] is False
    assert "gone is missing or not writable" in body["broker"]["error"]
    assert body["worker"] == {"ok": False, "error": "broker unreachable"}


@pytest.mark.django_db
def test_healthz_says_which_component_is_down(client, settings, queued):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on port 9
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is False
    assert "unreachable" in body["broker"]["error"]
    assert body["worker"] == {"ok": False, "error": "broker unreachable"}


@pytest.mark.django_db
def test_healthz_reports_a_database_failure(client, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def broken(self, sql, params=None):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == {
        "ok": False,
        "vendor": response.json()["database"]["vendor"],
        "error": "connection refused",
        "ms": response.json()["database"]["ms"],
    }


def workers_seen(client):
    return client.get("/healthz").json()["worker"].get("workers", [])


def worker_output(worker):
    os.killpg(worker.pid, signal.SIGTERM)
    return worker.communicate(timeout=20)[0][-3000:]


@pytest.mark.redis
@pytest.mark.django_db
def test_healthz_sees_a_real_worker_come_and_go(client, queued):
    """With Redis configured, a running Celery worker answers the ping."""
    name = f"healthz-{os.getpid()}"
    assert not any(w.startswith(name) for w in workers_seen(client))

    env = {**os.environ, "KAMENG_ENV_FILE": os.devnull}
    env.pop("KAMENG_CELERY_EAGER", None)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "kameng",
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"{name}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            body = client.get("/healthz").json()
            if any(w.startswith(name) for w in body["worker"].get("workers", [])):
                break
            time.sleep(1)
        else:
            pytest.fail(f"worker never answered: {body} {worker_output(worker)}")
        assert body["worker"]["ok"] is True
        assert body["status"] == "ok"
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def test_startup_check_names_a_missing_broker_folder(settings, tmp_path):
    settings.REDIS_URL = ""
    settings.BROKER_DIR = tmp_path / "gone"
    warnings = [m for m in run_checks() if m.id == "kameng.W001"]
    assert len(warnings) == 1
    assert "gone is missing or not writable" in warnings[0].msg
    assert "KAMENG_VAR_DIR" in warnings[0].hint

    settings.BROKER_DIR = tmp_path
    assert not [m for m in run_checks() if m.id == "kameng.W001"]
