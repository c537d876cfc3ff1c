"""`python -m kameng.serve` is how the Dockerfile, docker-compose and the HTTP
benchmarks start the web: sized by the environment (the gunicorn-era names
still work), and what a browser notices of the server holds: keep-alive,
static files, every cookie, form posts reaching Django, the caller's address."""

import http.client
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from kameng.serve import options

ROOT = Path(__file__).resolve().parents[2]
# The developer's own settings, which this test's server must not pick up.
OWN_VARIABLES = (
    "DATABASE_",
    "REDIS_",
    "KAMENG_",
    "DEBUG",
    "CELERY_",
    "GUNICORN_",
    "WEB_",
)
SIZING = (
    "WEB_CONCURRENCY",
    "WEB_THREADS",
    "WEB_BIND",
    "GUNICORN_THREADS",
    "GUNICORN_BIND",
)


@pytest.fixture
def clean_env(monkeypatch):
    for name in SIZING:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_production_defaults(clean_env):
    served = options([])
    assert served.app == "kameng.wsgi:application"
    assert (served.host, served.port) == ("0.0.0.0", 8000)
    assert served.workers == os.cpu_count()
    assert served.threads == 2


def test_the_environment_sizes_it(clean_env):
    clean_env.setenv("WEB_CONCURRENCY", "6")
    clean_env.setenv("WEB_THREADS", "4")
    clean_env.setenv("WEB_BIND", "127.0.0.1:9000")
    served = options([])
    assert (served.workers, served.threads) == (6, 4)
    assert (served.host, served.port) == ("127.0.0.1", 9000)


def test_the_gunicorn_era_names_still_size_it(clean_env):
    clean_env.setenv("GUNICORN_THREADS", "3")
    clean_env.setenv("GUNICORN_BIND", "127.0.0.1:9001")
    served = options([])
    assert served.threads == 3
    assert served.port == 9001
    clean_env.setenv("WEB_THREADS", "5")  # the new name wins
    assert options([]).threads == 5


def test_the_command_line_wins(clean_env):
    clean_env.setenv("WEB_CONCURRENCY", "6")
    served = options(
        ["--app", "bench.web_probe:application", "--workers", "1", "--threads", "3"]
    )
    assert (served.app, served.workers, served.threads) == (
        "bench.web_probe:application",
        1,
        3,
    )


def test_zero_workers_is_refused(clean_env):
    with pytest.raises(SystemExit):
        options(["--workers", "0"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cookies(response) -> dict[str, str]:
    found = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        found[name] = rest.split(";", 1)[0]
    return found


@pytest.fixture
def served(tmp_path):
    """Kameng under `python -m kameng.serve` on the embedded default (a
    database of its own, migrated), one worker."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(OWN_VARIABLES)},
        "KAMENG_ENV_FILE": os.devnull,
        "KAMENG_VAR_DIR": str(tmp_path),
        "KAMENG_CELERY_EAGER": "true",  # no worker here: /healthz judges the web
        "DEBUG": "true",
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "kameng.serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.var_dir = tmp_path
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                connection.connect()
                break
            except ConnectionRefusedError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "the web never listened"
                time.sleep(0.2)
        yield connection
    finally:
        connection.close()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def _get(connection, path, headers=None):
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    return response, response.read()


def test_it_serves_kameng_as_a_browser_sees_it(served):
    # A browser's second request rides on its first connection.
    health, _ = _get(served, "/healthz")
    first_socket = served.sock
    health_again, _ = _get(served, "/healthz")
    assert (health.status, health_again.status) == (200, 200)
    assert served.sock is not None and served.sock is first_socket

    # Static files (WhiteNoise), with their type.
    icon, body = _get(served, "/static/img/favicon.svg")
    assert icon.status == 200
    assert icon.getheader("Content-Type").startswith("image/svg+xml")
    assert b"<svg" in body

    # The login page sets the CSRF cookie; a wrong password posted as a form
    # reaches Django's form (its message, in Chinese), not a server error.
    page, _ = _get(served, "/shop/login/")
    assert page.status == 200
    token = _cookies(page)["csrftoken"]
    served.request(
        "POST",
        "/shop/login/",
        body=urlencode(
            {
                "username": "nobody-here",
                "password": "wrong-password",
                "csrfmiddlewaretoken": token,
            }
        ),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={token}",
            "Referer": f"http://127.0.0.1:{served.port}/shop/login/",
        },
    )
    refused = served.getresponse()
    text = refused.read().decode()
    assert refused.status == 200
    assert "请输入一个正确的用户名和密码" in text

    # The failed login is recorded against the caller's address (the server
    # passes the peer as REMOTE_ADDR; no proxy is trusted here).
    with sqlite3.connect(served.var_dir / "kameng.sqlite3") as database:
        recorded = database.execute(
            "SELECT ip_address FROM axes_accessattempt WHERE username = ?",
            ["nobody-here"],
        ).fetchall()
    assert recorded == [("127.0.0.1",)]
