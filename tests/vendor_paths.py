"""Tests run once per path of a per-vendor pick (a hand-written PostgreSQL
statement and the portable ORM that every other database takes)."""

import pytest
from django.db import connection


def vendor_path(request, monkeypatch, module, vendors: str, needs: str) -> str:
    """A test run twice: "sql", the hand-written PostgreSQL statement (skipped
    elsewhere), and "orm", the portable path `module.<vendors>` leaves to
    every other database."""
    if request.param == "sql":
        if connection.vendor != "postgresql":
            pytest.skip(needs)
    else:
        monkeypatch.setattr(module, vendors, set())
    return request.param
