"""Starting and stopping the processes a full-stack benchmark measures (the web
process as production starts it, a Celery worker), each in its own process
group so that stopping one stops its children too."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def production_env(**extra: str) -> dict:
    """The environment of a bench's child processes, as production runs: DEBUG
    off, quiet logs, plain HTTP on the loopback (in production the proxy
    terminates TLS), and rate limits that still count (their cost is in the
    figures) but never refuse, since every bench buyer shares one address;
    `extra` on top. Static files are collected for it: with DEBUG off, pages
    link them by their manifest names."""
    env = {
        **os.environ,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "RATE_LIMIT_CHECKOUT": "1000000/m",
        "RATE_LIMIT_LOGIN": "1000000/m",
        **extra,
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return env


def run_child_bench(name: str, argv: list[str], env: dict) -> dict:
    """`manage.py bench NAME argv` in a child process with `env` (an in-process
    bench whose measure must run with DEBUG off): the child's output is passed
    on, the figures of its last line returned."""
    done = subprocess.run(
        [sys.executable, "manage.py", "bench", name, *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise CommandError(done.stderr[-3000:])
    lines = done.stdout.rstrip().splitlines()
    sys.stdout.write("\n".join(lines[:-1]) + ("\n" if lines[:-1] else ""))
    figures = json.loads(lines[-1])
    figures.pop("bench", None)
    return figures


class StatementCounter:
    """`connection.execute_wrapper(counter)`: counts the statements run."""

    def __init__(self):
        self.statements = 0

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        return execute(sql, params, many, context)


def vacuum(*models) -> None:
    """VACUUM (ANALYZE) the models' tables: what autovacuum does in a shop.
    A machine whose PostgreSQL runs with autovacuum off (this one does) keeps
    every sold code's dead row, and the sale's code pick walks past them: the
    plain-SQL ceiling fell from ~1,050 to ~800 sales/s over a day of runs."""
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {tables}")


def purge_own_queue() -> None:
    """Empty this process's Celery queue (a bench's own, CELERY_QUEUE): what an
    in-process bench queued and no worker will run."""
    from kameng.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)


def require_full_stack() -> None:
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        raise CommandError(
            "This benchmark needs the full stack: set DATABASE_URL (Postgres) and "
            "REDIS_URL."
        )
    if settings.CELERY_TASK_ALWAYS_EAGER:
        raise CommandError("Unset KAMENG_CELERY_EAGER: tasks must go to a worker.")


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        raise CommandError("This benchmark needs PostgreSQL: set DATABASE_URL.")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def web_command(
    port: int,
    *,
    app: str = "kameng.wsgi:application",
    workers: int | None = None,
    threads: int | None = None,
) -> list[str]:
    """The web process as production starts it (kameng.serve), on the loopback;
    workers and threads default to production's (kameng.serve.options)."""
    return [
        sys.executable,
        "-m",
        "kameng.serve",
        "--app",
        app,
        "--bind",
        f"127.0.0.1:{port}",
        *(["--workers", str(workers)] if workers else []),
        *(["--threads", str(threads)] if threads else []),
    ]


def start(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wait_http(url: str, seconds: float = 90) -> None:
    """Until `url` answers at all (a 503 while no worker runs is an answer)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own server
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise CommandError(f"{url} did not come up")
