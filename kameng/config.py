"""Reading and checking configuration from the environment.

Settings call these helpers; anything wrong raises ``ConfigError`` with a message a
person can act on. ``manage.py``, ``wsgi.py`` and the Celery app print that message
and exit instead of showing a traceback.
"""

from __future__ import annotations

import base64
import binascii
import sys
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "psql", "sqlite"}
REDIS_SCHEMES = {"redis", "rediss"}


class ConfigError(ImproperlyConfigured):
    """A setting in the environment (or .env) is missing or malformed."""


def check_database_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in DATABASE_SCHEMES:
        raise ConfigError(
            f"DATABASE_URL={url!r} is not a database URL: expected "
            "postgres://USER:PASSWORD@HOST:PORT/NAME or sqlite:///PATH."
        )
    if parts.scheme != "sqlite":
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise ConfigError(f"DATABASE_URL has a bad port: {exc}.") from exc
        if not parts.hostname or not parts.path.strip("/"):
            raise ConfigError(
                f"DATABASE_URL={url!r} must name a host and a database, "
                "e.g. postgres://kameng@127.0.0.1:5432/kameng."
            )
    return url


def check_redis_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES or not parts.hostname:
        raise ConfigError(
            f"REDIS_URL={url!r} is not a Redis URL: expected redis://HOST:PORT/DB."
        )
    try:
        parts.port  # noqa: B018
    except ValueError as exc:
        raise ConfigError(f"REDIS_URL has a bad port: {exc}.") from exc
    return url


def per_test_worker(url: str, worker: str) -> str:
    """REDIS_URL for one process of a parallel test run (pytest-xdist sets
    PYTEST_XDIST_WORKER=gw0, gw1, ...): each gets its own Redis database, counted
    down from the configured one, as pytest-django gives each its own test
    database. A cache clear (FLUSHDB) or a broker message of one process then
    never reaches another."""
    if not worker:
        return url
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    index = int(worker.removeprefix("gw"))
    return parts._replace(path=f"/{(base - index) % 16}").geturl()


def parse_fernet_keys(value: str, *, required: bool) -> list[str]:
    """Comma-separated Fernet keys, newest first (rotation keeps old ones last)."""
    keys = [k.strip() for k in value.split(",") if k.strip()]
    if not keys:
        if required:
            raise ConfigError(
                "FIELD_ENCRYPTION_KEY is not set. Card codes and supplier "
                "credentials are encrypted with it. Generate one with: python -c "
                '"from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            )
        return []
    for position, key in enumerate(keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ConfigError(
                f"FIELD_ENCRYPTION_KEY key #{position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes)."
            )
    return keys


def check_hash_key(value: str, *, required: bool) -> str:
    """CARD_HASH_KEY: the HMAC key that fingerprints card codes for deduplication.
    Unlike the encryption keys it never rotates (every stored hash depends on it)."""
    if not value:
        if required:
            raise ConfigError(
                "CARD_HASH_KEY is not set. Card codes are deduplicated with a keyed "
                "hash under it; set it once and keep it. Generate one with: python "
                '-c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        return ""
    if len(value) < 32:
        raise ConfigError("CARD_HASH_KEY is too short: use at least 32 characters.")
    return value


def exit_on_config_error(exc: ConfigError) -> None:
    sys.stderr.write(f"Kameng configuration error: {exc}\n")
    sys.stderr.write("Fix the variable in .env or the environment and start again.\n")
    raise SystemExit(2)
