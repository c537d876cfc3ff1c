"""`manage.py runstack`: the web server, a Celery worker and Celery beat, together.

Both modes run the same three processes; only the broker differs (Redis with
REDIS_URL, kombu's filesystem transport in var/broker/ without). Every process is
started by this interpreter (`sys.executable`), so a venv that is not on PATH works.
Their output is prefixed with their name. Ctrl-C (or SIGTERM) stops all three; when
one exits on its own, the others are stopped and the command says which one died.
A second Ctrl-C kills what is still running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# How long a process may take over a clean shutdown before it is killed.
STOP_GRACE_SECONDS = 15


def stack_commands(*, addr: str, reload: bool = True) -> dict[str, list[str]]:
    """The three processes of the stack, each as the words of its command line."""
    python = sys.executable
    web = [python, str(settings.BASE_DIR / "manage.py"), "runserver", addr]
    if not reload:
        web.append("--noreload")
    celery = [python, "-m", "celery", "-A", "kameng"]
    worker = [*celery, "worker", "--loglevel=INFO", "--concurrency=2"]
    if not settings.REDIS_URL:
        # Broadcasts over the filesystem transport leave files behind; see settings.
        worker += ["--without-gossip", "--without-mingle"]
    beat = [*celery, "beat", "--loglevel=INFO"]
    beat += ["--scheduler", settings.CELERY_BEAT_SCHEDULER]
    return {"web": web, "worker": worker, "beat": beat}


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    reader: threading.Thread = field(init=False)

    def stop(self) -> None:
        """Ask for a clean shutdown. The web server's autoreloader runs the server
        as its own child, so the whole group gets the signal; Celery's main process
        stops its pool itself (signalling the pool too would lose tasks)."""
        try:
            if self.name == "web":
                os.killpg(self.process.pid, signal.SIGTERM)
            else:
                self.process.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass

    def kill_group(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Command(BaseCommand):
    help = (
        "Serve the back office on 127.0.0.1:8000 with a Celery worker and beat "
        "(Redis broker with REDIS_URL, else message files in var/broker/)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument(
            "--noreload",
            action="store_false",
            dest="reload",
            help="Do not restart the web server when code changes.",
        )

    def handle(self, *args, addr, reload, **options):
        self.lock = threading.Lock()
        if settings.REDIS_URL:
            self.say("Full stack: web + Celery worker + beat, Redis broker.")
        else:
            self.say(
                "Embedded stack: web + Celery worker + beat, broker messages in "
                f"{settings.BROKER_DIR}."
            )
        self.changed = threading.Event()  # a child exited or a stop was asked for
        self.stop_asked = None
        previous = {
            signum: signal.signal(signum, self.ask_to_stop)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        self.children = children = []
        try:
            for name, words in stack_commands(addr=addr, reload=reload).items():
                children.append(self.start(name, words))
            while not self.changed.wait(0.5):
                pass
            died = next((c for c in children if c.process.poll() is not None), None)
            self.stop_all(children)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            for child in children:
                child.kill_group()  # leftovers of a clean stop, if any
        if self.stop_asked is None and died is not None:
            others = ", ".join(c.name for c in children if c is not died)
            code = died.process.returncode
            how = (
                f"was killed by signal {-code}"
                if code < 0
                else f"exited with code {code}"
            )
            raise CommandError(
                f"Kameng stack stopped: {died.name} {how}; stopped {others} too."
            )
        self.say("Kameng stack stopped.")

    def say(self, line: str) -> None:
        with self.lock:  # the relay threads write too
            self.stdout.write(line)
            self.stdout.flush()

    def ask_to_stop(self, signum, frame):
        if self.stop_asked is not None:  # asked twice: no more waiting
            for child in self.children:
                child.kill_group()
        self.stop_asked = signum
        self.changed.set()

    def start(self, name: str, words: list[str]) -> Child:
        process = subprocess.Popen(
            words,
            cwd=settings.BASE_DIR,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches runstack only; it stops them
        )
        child = Child(name, process)
        child.reader = threading.Thread(target=self.relay, args=(child,), daemon=True)
        child.reader.start()
        self.say(f"{name:<6} | started (pid {process.pid})")
        return child

    def relay(self, child: Child) -> None:
        """Copy a child's output, line by line, under its name; note its exit."""
        for raw in iter(child.process.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.say(f"{child.name:<6} | {line}")
        child.process.wait()
        self.say(f"{child.name:<6} | exited with code {child.process.returncode}")
        self.changed.set()

    def stop_all(self, children: list[Child]) -> None:
        for child in children:
            if child.process.poll() is None:
                child.stop()
        for child in children:
            try:
                child.process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.say(f"{child.name:<6} | did not stop in time; killed")
                child.kill_group()
                child.process.wait()
            child.reader.join(timeout=5)
