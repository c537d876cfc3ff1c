"""gunicorn.conf.py is what the Dockerfile, docker-compose and bench checkout serve
with: every name in it must be a gunicorn setting with a valid value, and it serves
Kameng with keep-alive connections."""

import http.client
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from gunicorn.config import Config

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
# The developer's own settings, which this test's server must not pick up.
OWN_VARIABLES = ("DATABASE_", "REDIS_", "KAMENG_", "DEBUG", "CELERY_", "GUNICORN_")


def load(monkeypatch, **env) -> Config:
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = Config()
    for name, value in runpy.run_path(str(CONF)).items():
        if name.startswith("_") or type(value).__name__ == "module":
            continue
        assert name in config.settings, f"{name} is not a gunicorn setting"
        config.set(name, value)  # gunicorn's own validation
    return config


def test_every_name_is_a_valid_gunicorn_setting(monkeypatch):
    assert load(monkeypatch).workers >= 1  # load() checks each name and value


def test_it_serves_kameng_and_keeps_connections_alive(tmp_path):
    """A browser's second request rides on its first connection."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(OWN_VARIABLES)},
        "KAMENG_ENV_FILE": os.devnull,
        "KAMENG_VAR_DIR": str(tmp_path),
        "KAMENG_CELERY_EAGER": "true",  # no worker here: /healthz judges the web
        "DEBUG": "true",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "kameng.wsgi:application"],
        cwd=CONF.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        deadline = time.monotonic() + 60
        while True:
            try:
                connection.connect()
                break
            except ConnectionRefusedError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "gunicorn never listened"
                time.sleep(0.2)
        statuses = []
        sockets = []
        for _ in range(2):
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
            sockets.append(connection.sock)
        assert statuses == [200, 200]
        assert sockets[0] is not None and sockets[0] is sockets[1]
        connection.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_the_environment_sizes_it(monkeypatch):
    config = load(monkeypatch, WEB_CONCURRENCY="6", GUNICORN_THREADS="4")
    assert (config.workers, config.threads) == (6, 4)
