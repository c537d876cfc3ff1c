"""The web process: Kameng's WSGI application served by granian.

    python -m kameng.serve [--app module:attribute] [--bind host:port]
                           [--workers N] [--threads N]

The Dockerfile, docker-compose.yml and the HTTP benchmarks (bench checkout,
flash_sale, topup) all start the web this way, so a benchmark measures what
production runs. Sized by the environment: WEB_CONCURRENCY worker processes
(default: one per core), WEB_THREADS threads each (default 2), WEB_BIND
(default 0.0.0.0:8000); GUNICORN_THREADS and GUNICORN_BIND, the names of the
gunicorn days, are still read when the new ones are unset.

Why granian (issue 12): it parses HTTP and holds keep-alive connections in
Rust, so a request reaches Django for less Python than gunicorn's parser and
gthread poller spent on it. `bench checkout`, 2 workers x 2 threads on the
2-core machine, gunicorn and granian alternating in the same minutes: CPU
13.2-16.5 ms -> 11.7-12.5 ms per purchase (buy POST and order page),
64-79 -> 81-87 orders/s; p99 113-122 -> 92-104 ms with 4 buyers and
862 -> 573 ms with 32.

Why few threads per process and a process per core: serving a page is
CPU-bound Python, so extra threads in one process only queue for its GIL
(with gunicorn, 2 workers x 2 threads sold 79 orders/s with p99 0.7 s and
4 x 8 sold 67 with p99 1.3 s; with granian, 4 threads per worker sold fewer
than 2). Two threads keep a core busy while the other waits on PostgreSQL.
One thread per process (WEB_THREADS=1, the sync model) measured better under
a 32-buyer burst on the 2-core machine (2 x 1 against 2 x 2: p99 322-420 ms,
four runs of five under 400, against 359-467 ms; 5.9-6.2 against 6.3-6.9 ms
CPU per purchase) and no better with 4 buyers (p99 46-63 against 49-60 ms);
it also lets one slow page hold a whole process, so the default stays two.

Nothing was lost with gunicorn: its worker timeout never covered a request
stuck in a gthread thread either (Kameng's slow work, supplier calls and
reports, runs in Celery). Granian respawns a worker that dies, gives a
stopping worker 30 s to finish its requests, logs each request (the access
log, as gunicorn's was) and passes the peer address as REMOTE_ADDR
(kameng.client_address believes X-Forwarded-For only from TRUSTED_PROXIES).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

APPLICATION = "kameng.wsgi:application"
STOP_SECONDS = 30  # a stopping worker's time to finish its requests


@dataclass(frozen=True)
class Options:
    app: str
    host: str
    port: int
    workers: int
    threads: int


def _env(name: str, old_name: str, default: str) -> str:
    return os.environ.get(name) or os.environ.get(old_name) or default


def options(argv: list[str] | None = None) -> Options:
    """What the web process serves and how, from the environment and the
    command line (which wins)."""
    parser = argparse.ArgumentParser(prog="python -m kameng.serve")
    parser.add_argument("--app", default=APPLICATION)
    parser.add_argument("--bind", default=_env("WEB_BIND", "GUNICORN_BIND", ""))
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int)
    given = parser.parse_args(argv)
    host, _, port = (given.bind or "0.0.0.0:8000").rpartition(":")
    workers = given.workers
    if workers is None:
        workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
    threads = given.threads
    if threads is None:
        threads = int(_env("WEB_THREADS", "GUNICORN_THREADS", "2"))
    if workers < 1 or threads < 1:
        parser.error("workers and threads must be at least 1")
    return Options(
        app=given.app,
        host=host or "0.0.0.0",
        port=int(port),
        workers=workers,
        threads=threads,
    )


def server(chosen: Options):
    from granian import Granian
    from granian.constants import Interfaces

    return Granian(
        chosen.app,
        address=chosen.host,
        port=chosen.port,
        interface=Interfaces.WSGI,
        workers=chosen.workers,
        blocking_threads=chosen.threads,
        websockets=False,
        log_access=True,
        respawn_failed_workers=True,
        workers_kill_timeout=STOP_SECONDS,
    )


def main(argv: list[str] | None = None) -> None:
    # The workers import the application by name: from the project's folder.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    server(options(argv)).serve()


if __name__ == "__main__":
    main()
