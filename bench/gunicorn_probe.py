"""gunicorn settings for `bench checkout`: production's (gunicorn.conf.py), plus
a count of the SQL statements each worker sends.

Each worker counts every statement its Django connections execute (an execute
wrapper, so BEGIN/COMMIT, which psycopg sends by itself, are not counted) and
after each request writes its running total to a file named after its pid in
the folder KAMENG_BENCH_PROBE_DIR. The benchmark reads those files, and the
workers' CPU time from /proc, before and after the measured window
(bench.checkout).
"""

import os
import runpy
import threading
from pathlib import Path

from django.db.backends.signals import connection_created

_production = runpy.run_path(
    str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py")
)
globals().update(
    {name: value for name, value in _production.items() if not name.startswith("_")}
)

_lock = threading.Lock()
_statements = [0]
_file = {}


def _count(execute, sql, params, many, context):
    with _lock:
        _statements[0] += 1
    return execute(sql, params, many, context)


def _wrap(sender, connection, **kwargs):
    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)


def post_worker_init(worker):
    connection_created.connect(_wrap, weak=False)
    path = Path(os.environ["KAMENG_BENCH_PROBE_DIR"]) / str(os.getpid())
    _file["fd"] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)


def post_request(worker, req, environ, resp):
    with _lock:
        total = _statements[0]
    os.pwrite(_file["fd"], f"{total:>20}\n".encode(), 0)
