"""Fixtures shared by the orders tests."""

import pytest
from django.db import connection

from catalog.suppliers.kameng_v1 import KamengV1Adapter
from orders import checkout, paid_outbox


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


@pytest.fixture(params=["sql", "orm"])
def sale_path(request, monkeypatch):
    """Which path buy_with_wallet takes for card codes in this test."""
    return vendor_path(
        request,
        monkeypatch,
        checkout,
        "SQL_SALE_VENDORS",
        "the hand-written sale needs PostgreSQL",
    )


@pytest.fixture(params=["sql", "orm"])
def claim_path(request, monkeypatch):
    """Which of the outbox drain's claims runs in this test."""
    return vendor_path(
        request,
        monkeypatch,
        paid_outbox,
        "SQL_CLAIM_VENDORS",
        "the claim in one statement needs PostgreSQL",
    )


@pytest.fixture
def supplier_sends(monkeypatch):
    """Every request our supplier adapter sends, as (url, inside a transaction?),
    read on the sending thread's own connection at the moment it sends."""
    sends = []
    send = KamengV1Adapter._send

    def spy(adapter, request):
        sends.append((request.full_url, connection.in_atomic_block))
        return send(adapter, request)

    monkeypatch.setattr(KamengV1Adapter, "_send", spy)
    return sends
