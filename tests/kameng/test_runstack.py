"""`make run` from a fresh clone: a .env with fresh secrets, `migrate`, then
`runstack` starts web, Celery worker and beat. A product scheduled to list now is
listed by them (its shop page opens) and /healthz sees the worker; Ctrl-C stops
all three. Once on the embedded default (SQLite, filesystem broker), once on the
full stack (PostgreSQL + Redis). The beat intervals are shortened through
BEAT_INTERVAL_CAP_SECONDS so the tests wait seconds, not minutes.

Most of each stack test is the fresh clone's `migrate` (about 32 s of CPU on
SQLite, every migration from the first), which is what they check; both are
marked `slow` so a parallel run starts them first (tests/kameng/conftest.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from kameng.management.commands import runstack

ROOT = Path(__file__).resolve().parents[2]
HEALTH_TOKEN = "stack-test-health-token"
# What the developer's own shell may carry that a fresh clone's .env decides.
OWN_VARIABLES = (
    "DATABASE_",
    "REDIS_",
    "SECRET_KEY",
    "FIELD_ENC",
    "CARD_HASH",
    "KAMENG_",
    "DEBUG",
    "BEAT_",
    "CELERY_",
    "CACHE_",
    "LOG_",
    "PYTEST",
)
CREATE_SCHEDULED_PRODUCT = """
from django.utils import timezone
from catalog.models import Category, Product, Sku
category = Category.objects.create(name="Stack test", slug="stack-test")
product = Product.objects.create(
    category=category, name="Listed by beat", list_at=timezone.now()
)
Sku.objects.create(
    product=product, code="STACK-1", name="one", delivery_type="manual",
    stock_mode="unlimited", price="9.90",
)
print(product.pk, product.status)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stack:
    """One checkout's `make run`, in a temporary directory of its own."""

    def __init__(self, tmp_path: Path, **variables: str):
        self.dir = tmp_path
        self.port = free_port()
        env_file = tmp_path / ".env"
        subprocess.run(
            [sys.executable, "scripts/write_env.py", str(env_file)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        lines = {
            "KAMENG_VAR_DIR": str(tmp_path / "var"),
            "BEAT_INTERVAL_CAP_SECONDS": "2",
            **variables,
        }
        with env_file.open("a", encoding="utf-8") as out:
            out.writelines(f"{name}={value}\n" for name, value in lines.items())
        self.env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(OWN_VARIABLES)
        }
        self.env["KAMENG_ENV_FILE"] = str(env_file)
        # /healthz names components only to staff or to monitoring with the token.
        self.env["HEALTHZ_TOKEN"] = HEALTH_TOKEN
        # A fresh clone's shell: the venv is not activated, so `celery` is not
        # on PATH (runstack must start everything by its own interpreter).
        self.env["PATH"] = "/usr/bin:/bin"
        self.log = tmp_path / "runstack.log"
        self.process = None

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "runstack", "--noreload"]
                + ["--addr", f"127.0.0.1:{self.port}"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str) -> tuple[int | None, str]:
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.port}{path}",
                headers={"X-Health-Token": HEALTH_TOKEN},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None, ""

    def wait_for(self, what: str, check, limit: float = 120) -> None:
        """Poll `check` until it holds; fail naming `what` if the stack dies or
        the limit passes."""
        deadline = time.monotonic() + limit
        while not check():
            if self.process.poll() is not None:
                pytest.fail(f"runstack died before {what}:\n{self.output()[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"never saw {what}:\n{self.output()[-4000:]}")
            time.sleep(0.5)

    def child_pids(self) -> list[int]:
        return [int(p) for p in re.findall(r"started \(pid (\d+)\)", self.output())]

    def interrupt(self) -> int:
        """Ctrl-C, as a terminal sends it to runstack."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pid in self.child_pids():
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def healthz(stack: Stack) -> dict:
    status, body = stack.get("/healthz")
    return json.loads(body) if status in (200, 503) else {}


def run_and_list_a_scheduled_product(stack: Stack) -> dict:
    stack.manage("migrate", "--noinput")
    stack.start()
    stack.wait_for(
        "/healthz report the worker", lambda: healthz(stack).get("status") == "ok"
    )
    pk, status = stack.manage("shell", "-c", CREATE_SCHEDULED_PRODUCT).split()[-2:]
    assert status == "draft"
    stack.wait_for(
        "the scheduled product listed in the shop",
        lambda: stack.get(f"/shop/p/{pk}/")[0] == 200,
    )
    report = healthz(stack)
    assert stack.interrupt() == 0, stack.output()[-3000:]
    assert "Kameng stack stopped." in stack.output()
    for pid in stack.child_pids():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    return report


@pytest.mark.slow
def test_the_embedded_stack_runs_scheduled_work(tmp_path):
    stack = Stack(tmp_path)
    try:
        report = run_and_list_a_scheduled_product(stack)
    finally:
        stack.kill()
    assert report["database"]["vendor"] == "sqlite"
    assert report["broker"]["transport"] == "filesystem"
    assert report["worker"]["ok"] is True
    assert len(stack.child_pids()) == 3


@pytest.fixture
def stack_database():
    """A database of its own on the test server, dropped afterwards."""
    params = settings.DATABASES["default"]
    name = f"{params['NAME']}_stack"
    server = {
        "host": params["HOST"] or "127.0.0.1",
        "port": params["PORT"] or 5432,
        "user": params["USER"],
        "password": params["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    with psycopg.connect(**server) as admin:
        admin.execute(drop)
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    yield (
        f"postgres://{params['USER']}{password}@{server['host']}:{server['port']}"
        f"/{name}"
    )
    with psycopg.connect(**server) as admin:
        admin.execute(drop)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_the_full_stack_runs_scheduled_work(tmp_path, stack_database):
    own = f"stack-{os.getpid()}"
    stack = Stack(
        tmp_path,
        DATABASE_URL=stack_database,
        REDIS_URL=settings.REDIS_URL,
        CACHE_KEY_PREFIX=own,  # its heartbeat, apart from the suite's
        CELERY_QUEUE=own,  # its messages, apart from other workers'
    )
    try:
        report = run_and_list_a_scheduled_product(stack)
    finally:
        stack.kill()
        # Beat's last messages stay in Redis otherwise (the queue is this test's).
        subprocess.run(
            [sys.executable, "-m", "celery", "-A", "kameng", "purge", "-f", "-Q", own],
            cwd=ROOT,
            env=stack.env,
            capture_output=True,
            timeout=60,
        )
    assert report["database"]["vendor"] == "postgresql"
    assert report["broker"]["transport"] == "redis"
    assert report["worker"]["ok"] is True


def sleeper(seconds: int) -> list[str]:
    return [sys.executable, "-c", f"import time; time.sleep({seconds})"]


@pytest.mark.parametrize(
    ("death", "said"),
    [
        ("sys.exit(3)", "worker exited with code 3"),
        ("os.kill(os.getpid(), signal.SIGKILL)", "worker was killed by signal 9"),
    ],
)
def test_a_dying_process_stops_the_stack_and_says_which(
    death, said, monkeypatch, capsys
):
    def commands(**kwargs):
        crash = f"import os, signal, sys; print('worker boom', flush=True); {death}"
        return {
            "web": sleeper(120),
            "worker": [sys.executable, "-c", crash],
            "beat": sleeper(120),
        }

    monkeypatch.setattr(runstack, "stack_commands", commands)
    with pytest.raises(CommandError) as stopped:
        call_command("runstack")
    assert str(stopped.value) == (
        f"Kameng stack stopped: {said}; stopped web, beat too."
    )
    out = capsys.readouterr().out
    assert "worker | worker boom" in out
    for pid in map(int, re.findall(r"started \(pid (\d+)\)", out)):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_second_ctrl_c_kills_what_does_not_stop(tmp_path, monkeypatch, capsys):
    web_ready, worker_ready = tmp_path / "web-ready", tmp_path / "worker-ready"
    stopping = tmp_path / "stopping"
    stubborn = (  # a web server that ignores SIGTERM
        "import pathlib, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"pathlib.Path({str(web_ready)!r}).touch(); time.sleep(120)"
    )
    polite = (  # a worker that notes the SIGTERM that stops it
        "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: "
        f"(pathlib.Path({str(stopping)!r}).touch(), sys.exit(0))); "
        f"pathlib.Path({str(worker_ready)!r}).touch(); time.sleep(120)"
    )

    def commands(**kwargs):
        return {
            "web": [sys.executable, "-c", stubborn],
            "worker": [sys.executable, "-c", polite],
            "beat": sleeper(120),
        }

    def appeared(*paths: Path) -> bool:
        deadline = time.monotonic() + 30
        while not all(path.exists() for path in paths):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def press_ctrl_c_twice():
        # Each press only once runstack's handler is sure to be listening.
        if appeared(web_ready, worker_ready):
            os.kill(os.getpid(), signal.SIGINT)
            if appeared(stopping):
                os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(runstack, "stack_commands", commands)
    presser = threading.Thread(target=press_ctrl_c_twice)
    presser.start()
    try:
        call_command("runstack")
    finally:
        presser.join()
    out = capsys.readouterr().out
    assert out.rstrip().endswith("Kameng stack stopped.")
    assert "did not stop in time" not in out  # killed at once, not after the grace
    for pid in map(int, re.findall(r"started \(pid (\d+)\)", out)):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
