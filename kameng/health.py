"""What /healthz reports: database, broker and worker, each with its own verdict.

The same rules hold in both modes: the broker is Redis (REDIS_URL) or the folder of
kombu's filesystem transport (embedded default), and a worker is alive when it
recorded its heartbeat recently (beat sends the heartbeat task every 30 s; a worker
also records one when it starts). With Redis, a worker answering a ping counts too.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.utils import timezone

from kameng.celery import app

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "kameng:worker-heartbeat"


def record_worker_heartbeat() -> None:
    cache.set(HEARTBEAT_KEY, timezone.now().timestamp(), timeout=24 * 3600)


def _timed(check):
    started = time.perf_counter()
    result = check()
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def check_database() -> dict:
    def run():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError as exc:
            return {"ok": False, "vendor": connection.vendor, "error": str(exc)[:200]}
        return {"ok": True, "vendor": connection.vendor}

    return _timed(run)


def _check_redis() -> dict:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return {
            "ok": False,
            "transport": "redis",
            "error": f"Redis at REDIS_URL is unreachable: {exc}"[:200],
        }
    finally:
        client.close()
    return {"ok": True, "transport": "redis"}


def _check_folder() -> dict:
    folder = Path(settings.BROKER_DIR)
    result = {"ok": True, "transport": "filesystem", "folder": str(folder)}
    if not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
        result["ok"] = False
        result["error"] = f"broker folder {folder} is missing or not writable"
    return result


def check_broker() -> dict:
    return _timed(_check_redis if settings.REDIS_URL else _check_folder)


def heartbeat_age_seconds() -> int | None:
    """Seconds since a worker last recorded its heartbeat; None if never."""
    last = cache.get(HEARTBEAT_KEY)
    return round(timezone.now().timestamp() - last) if last else None


def heartbeat_is_fresh(age: int | None) -> bool:
    """A worker recorded its heartbeat within WORKER_STALE_AFTER_SECONDS."""
    return age is not None and age <= settings.WORKER_STALE_AFTER_SECONDS


def workers_look_down() -> bool:
    """For the back-office banner: tasks go to a queue (not run in-process) and no
    worker has recorded a heartbeat recently. One cache read."""
    if app.conf.task_always_eager:
        return False
    return not heartbeat_is_fresh(heartbeat_age_seconds())


def check_worker(*, broker_ok: bool) -> dict:
    """A worker is healthy when its heartbeat is recent (or, with Redis, when it
    answers a ping)."""
    if app.conf.task_always_eager:
        return {"ok": True, "mode": "eager"}
    if not broker_ok:
        return {"ok": False, "error": "broker unreachable"}

    def run():
        workers = []
        if settings.REDIS_URL:
            replies = app.control.ping(timeout=1.0) or []
            workers = sorted(name for reply in replies for name in reply)
        age = heartbeat_age_seconds()
        result = {
            "ok": bool(workers) or heartbeat_is_fresh(age),
            "workers": workers,
            "heartbeat_age_s": age,
        }
        if not result["ok"]:
            result["error"] = (
                "no worker answered and no recent heartbeat"
                if settings.REDIS_URL
                else "no recent worker heartbeat"
            )
        return result

    return _timed(run)


@dataclass(frozen=True)
class Backlog:
    """Work that waits for the worker, as its app reads it: how many rows wait
    (counted up to a cap: `more` past it) and how long the oldest has waited.
    Stale past `stale_after_s`; `alert` is the back office's sentence then."""

    waiting: int
    more: bool
    oldest_age_s: int | None
    stale_after_s: int
    alert: str = ""

    @property
    def stale(self) -> bool:
        return self.oldest_age_s is not None and self.oldest_age_s > self.stale_after_s

    def as_json(self) -> dict:
        return {
            "waiting": self.waiting,
            "more": self.more,
            "oldest_age_s": self.oldest_age_s,
            "stale": self.stale,
        }


# name -> how its app reads it; the apps register theirs when ready (kameng
# sits below them and imports none).
BACKLOGS: dict[str, Callable[[], Backlog]] = {}


def register_backlog(name: str, read: Callable[[], Backlog]) -> None:
    BACKLOGS[name] = read


def _read_backlogs() -> dict[str, Backlog | None]:
    """Each registered backlog; None for one whose read failed (logged): a
    figure must never take /healthz or a back-office page down with it."""
    found = {}
    for name, read in BACKLOGS.items():
        try:
            found[name] = read()
        except DatabaseError:
            logger.exception("backlog %s could not be read", name)
            found[name] = None
    return found


def stale_backlogs() -> list[Backlog]:
    """For the back-office banner: the backlogs whose oldest row waited too long."""
    return [b for b in _read_backlogs().values() if b is not None and b.stale]


def health_report(*, figures: bool = True) -> dict:
    """The verdicts; with `figures`, also the backlogs (read only for callers
    shown them)."""
    database = check_database()
    broker = check_broker()
    worker = check_worker(broker_ok=broker["ok"])
    components = {"database": database, "broker": broker, "worker": worker}
    report = {
        "status": "ok" if all(c["ok"] for c in components.values()) else "error",
        **components,
    }
    if figures and database["ok"]:
        # Figures, not verdicts: a load balancer reading the status must not
        # take the web process out because the worker is behind.
        report["backlogs"] = {
            name: {"error": "could not be read"}
            if backlog is None
            else backlog.as_json()
            for name, backlog in _read_backlogs().items()
        }
    return report
