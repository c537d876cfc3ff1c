"""gunicorn.conf.py is what the Dockerfile, docker-compose and bench checkout serve
with: every name in it must be a gunicorn setting with a valid value."""

import runpy
from pathlib import Path

from gunicorn.config import Config

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


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


def test_threaded_workers_with_keep_alive(monkeypatch):
    config = load(monkeypatch)
    assert config.worker_class_str == "gthread"
    assert config.threads == 2
    assert config.workers >= 1
    assert config.keepalive == 5
    assert config.bind == ["0.0.0.0:8000"]


def test_the_environment_sizes_it(monkeypatch):
    config = load(monkeypatch, WEB_CONCURRENCY="6", GUNICORN_THREADS="4")
    assert (config.workers, config.threads) == (6, 4)
