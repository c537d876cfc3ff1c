"""Configuration: plain messages for bad values, and secrets that are never
guessable outside a development machine."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


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
                "BEAT_",
                "CELERY_",
                "CACHE_",
                # e.g. DJANGO_ALLOW_ASYNC_UNSAFE, which the browser tests set
                # while their browser is open and the deploy check refuses.
                "DJANGO_",
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


DEV_KEY_VARIABLES = ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "CARD_HASH_KEY")
SECRETS = {"SECRET_KEY": "s" * 50, **KEYS}


def test_the_embedded_default_with_debug_needs_no_secrets(tmp_path):
    result = run(["manage.py", "check"], DEBUG="true", KAMENG_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", DEV_KEY_VARIABLES)
def test_without_debug_every_secret_must_be_set(missing, tmp_path):
    env = {name: value for name, value in SECRETS.items() if name != missing}
    result = run(
        ["manage.py", "check"], DEBUG="false", KAMENG_VAR_DIR=str(tmp_path), **env
    )
    assert result.returncode == 2
    assert f"{missing} is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_debug_the_set_secrets_are_used(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECRET_KEY, s.CARD_HASH_KEY, s.FIELD_ENCRYPTION_KEYS[0])"
    )
    result = run(code, DEBUG="false", KAMENG_VAR_DIR=str(tmp_path), **SECRETS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        SECRETS["SECRET_KEY"],
        SECRETS["CARD_HASH_KEY"],
        SECRETS["FIELD_ENCRYPTION_KEY"],
    ]
