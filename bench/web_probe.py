"""The WSGI application the HTTP benchmarks serve (`kameng.serve --app
bench.web_probe:application`): Kameng's, plus a count of the SQL statements
each web worker sends.

Each worker counts every statement its Django connections execute (an execute
wrapper, so BEGIN/COMMIT, which psycopg sends by itself, are not counted) and
after each request writes its running total to a file named after its pid in
the folder KAMENG_BENCH_PROBE_DIR. The benchmark reads those files, and the
workers' CPU time from /proc, before and after the measured window
(bench.checkout).
"""

import os
import threading
from pathlib import Path

from django.db.backends.signals import connection_created

from kameng.wsgi import application as kameng_application

_lock = threading.Lock()
_statements = [0]
_file: dict[str, int] = {}


def _count(execute, sql, params, many, context):
    with _lock:
        _statements[0] += 1
    return execute(sql, params, many, context)


def _wrap(sender, connection, **kwargs):
    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)


connection_created.connect(_wrap, weak=False)


def _total_file() -> int:
    """This worker's file (opened once per process: a worker may be forked
    from a process that already imported this module)."""
    pid = os.getpid()
    if _file.get("pid") != pid:
        path = Path(os.environ["KAMENG_BENCH_PROBE_DIR"]) / str(pid)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        _file.update(pid=pid, fd=os.open(path, flags, 0o644))
    return _file["fd"]


def application(environ, start_response):
    try:
        return kameng_application(environ, start_response)
    finally:
        with _lock:
            total = _statements[0]
            fd = _total_file()
        os.pwrite(fd, f"{total:>20}\n".encode(), 0)
