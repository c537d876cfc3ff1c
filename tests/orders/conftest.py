"""Fixtures shared by the orders tests."""

import pytest
from django.db import connection

from catalog.suppliers.kameng_v1 import KamengV1Adapter
from orders import paid_outbox
from tests.vendor_paths import vendor_path


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
