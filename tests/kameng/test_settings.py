"""Configuration: embedded default, full stack, and plain messages for bad values."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE']); print(s.CELERY_TASK_ALWAYS_EAGER); "
    "print(s.CACHES['default']['BACKEND'])"
)


def run(code_or_args, **env):
    """Run Python in a clean environment (no .env) with only the given variables."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "DATABASE_",
                "REDIS_",
                "SECRET_KEY",
                "FIELD_ENC",
                "CARD_HASH",
                "KAMENG_",
                "LOG_FORMAT",
                "DEBUG",
            )
        )
    }
    clean.update(KAMENG_ENV_FILE=os.devnull, DJANGO_SETTINGS_MODULE="kameng.settings")
    clean.update(env)
    args = code_or_args if isinstance(code_or_args, list) else ["-c", code_or_args]
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_default_is_sqlite_with_eager_tasks():
    result = run(PRINT_SETTINGS)
    assert result.returncode == 0, result.stderr
    engine, eager, cache = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert eager == "True"
    assert cache.endswith("LocMemCache")


def test_database_and_redis_urls_switch_to_the_full_stack():
    result = run(
        PRINT_SETTINGS,
        DATABASE_URL="postgres://kameng:pw@db.internal:5432/kameng",
        REDIS_URL="redis://127.0.0.1:6379/3",
        SECRET_KEY="x" * 50,
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        CARD_HASH_KEY="h" * 40,
    )
    assert result.returncode == 0, result.stderr
    engine, eager, cache = result.stdout.split()
    assert engine == "django.db.backends.postgresql"
    assert eager == "False"
    assert cache.endswith("RedisCache")


FULL = {"SECRET_KEY": "x" * 50, "DATABASE_URL": "postgres://k@127.0.0.1:5432/k"}
KEYS = {
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "CARD_HASH_KEY": "h" * 40,
}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({**FULL, "DATABASE_URL": "postgres//nohost"}, "DATABASE_URL"),
        ({**FULL, "DATABASE_URL": "mysql-ish://x"}, "is not a database URL"),
        ({**FULL, "DATABASE_URL": "postgres://k@h:notaport/k"}, "bad port"),
        (
            {**FULL, "DATABASE_URL": "postgres://k@127.0.0.1:5432/"},
            "name a host and a database",
        ),
        (FULL, "FIELD_ENCRYPTION_KEY is not set"),
        ({**FULL, "FIELD_ENCRYPTION_KEY": "not-a-key"}, "key #1 is not a Fernet key"),
        ({**FULL, **KEYS, "CARD_HASH_KEY": ""}, "CARD_HASH_KEY is not set"),
        ({**FULL, **KEYS, "CARD_HASH_KEY": "short"}, "CARD_HASH_KEY is too short"),
        (
            {"SECRET_KEY": "", "DATABASE_URL": FULL["DATABASE_URL"]},
            "SECRET_KEY is not set",
        ),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, "is not a Redis URL"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
    ],
)
def test_bad_configuration_gets_a_message_not_a_traceback(env, expected):
    result = run(["manage.py", "check"], **env)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Kameng configuration error" in result.stderr
    assert "Traceback" not in result.stderr


def test_second_encryption_key_is_validated_too():
    keys = f"{Fernet.generate_key().decode()},broken"
    result = run(["manage.py", "check"], **FULL, FIELD_ENCRYPTION_KEY=keys)
    assert result.returncode == 2
    assert "key #2" in result.stderr


def test_unreachable_redis_is_named_at_startup():
    # Port 9 (discard) on loopback: nothing listens, connection refused at once.
    result = run(["manage.py", "check"], REDIS_URL="redis://127.0.0.1:9/0")
    assert result.returncode == 0, result.stderr
    assert "kameng.W001" in result.stderr
    assert "Redis at REDIS_URL is unreachable" in result.stderr
