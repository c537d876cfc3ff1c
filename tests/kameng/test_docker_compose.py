"""docker-compose.yml cannot be run here (no Docker engine), so it is read and checked:
the five services exist, each has a health check, state lives in volumes, and every
command the stack runs names a module, Celery app or management command that exists."""

import importlib
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"web", "worker", "beat", "postgres", "redis"}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command_words(command) -> list[str]:
    """A compose command as one list of words, `sh -c "a && b"` included."""
    if isinstance(command, str):
        return shlex.split(command)
    if command[:2] == ["sh", "-c"]:
        return shlex.split(command[2])
    return list(command)


def test_the_five_services_exist_with_health_checks(compose):
    assert set(compose["services"]) == SERVICES
    for name, service in compose["services"].items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_state_lives_in_named_volumes(compose):
    services = compose["services"]
    declared = set(compose["volumes"])
    mounts = {
        name: {volume.split(":")[0] for volume in service.get("volumes", [])}
        for name, service in services.items()
    }
    assert "postgres-data" in mounts["postgres"]
    assert "redis-data" in mounts["redis"]
    assert "media" in mounts["web"] and "media" in mounts["worker"]
    assert set().union(*mounts.values()) <= declared


def test_app_services_wait_for_healthy_dependencies_and_read_env(compose):
    for name in ("web", "worker", "beat"):
        service = compose["services"][name]
        assert service["env_file"] == ".env"
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["environment"]["REDIS_URL"].startswith("redis://")
        for dependency in ("postgres", "redis"):
            assert service["depends_on"][dependency]["condition"] == "service_healthy"


def check_words(words: list[str]) -> None:
    """Each step of a command runs something this project has."""
    steps, current = [], []
    for word in words:
        if word == "&&":
            steps.append(current)
            current = []
        else:
            current.append(word)
    steps.append(current)
    for step in steps:
        if step[0] == "exec":
            step = step[1:]
        program = step[0]
        if program == "python" and step[1] == "manage.py":
            assert step[2] in get_commands(), f"no management command {step[2]}"
        elif program == "python" and step[1:3] == ["-m", "kameng.serve"]:
            served = importlib.import_module("kameng.serve").options(step[3:])
            module, _, attribute = served.app.partition(":")
            assert hasattr(importlib.import_module(module), attribute)
        elif program == "celery":
            assert step[1:3] == ["-A", "kameng"]
            assert hasattr(importlib.import_module("kameng.celery"), "app")
            if "--scheduler" in step:
                path = step[step.index("--scheduler") + 1]
                module, _, attribute = path.partition(":")
                assert hasattr(importlib.import_module(module), attribute)
        else:
            pytest.fail(f"unexpected program in docker-compose.yml: {step}")


def test_every_command_names_something_that_exists(compose):
    for name in ("web", "worker", "beat"):
        check_words(command_words(compose["services"][name]["command"]))
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    check_words(yaml.safe_load(cmd.removeprefix("CMD ")))


def test_web_health_check_reads_healthz(compose):
    test = compose["services"]["web"]["healthcheck"]["test"]
    assert any("/healthz" in part for part in test)


def test_image_leaves_out_secrets_and_local_state():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", ".venv", "var", ".git"):
        assert entry in ignored
