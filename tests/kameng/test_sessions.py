"""Sessions are Django's cached_db, whose read brings the module switches in the
same cache round trip (kameng.sessions, issue 12)."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from kameng import modules
from kameng.modules import switch_module
from tests.orders.factories import make_buyer

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_reads(monkeypatch):
    """The keys each read of the default cache asked for, in order (a backend
    whose get_many calls get, as the file cache's, counts once)."""
    reads: list[tuple[str, list[str]]] = []
    cache = caches["default"]
    get, get_many = cache.get, cache.get_many
    inside = []

    def one(key, *args, **kwargs):
        if not inside:
            reads.append(("get", [key]))
        return get(key, *args, **kwargs)

    def many(keys, *args, **kwargs):
        reads.append(("get_many", list(keys)))
        inside.append(1)
        try:
            return get_many(keys, *args, **kwargs)
        finally:
            inside.pop()

    monkeypatch.setattr(cache, "get", one)
    monkeypatch.setattr(cache, "get_many", many)
    return reads


def test_a_logged_in_page_reads_session_and_switches_in_one_round_trip(
    client, cache_reads
):
    client.force_login(make_buyer())
    client.get("/shop/")  # both keys are in the cache now
    cache_reads.clear()
    page = client.get("/shop/")
    assert page.status_code == 200
    asked = [keys for _call, keys in cache_reads]
    together = [keys for keys in asked if modules.CACHE_KEY in keys]
    assert len(together) == 1 and any("sessions" in key for key in together[0])
    assert [modules.CACHE_KEY] not in asked  # not read a second time


def test_a_switch_turned_off_is_seen_by_the_next_request(client, admin_user):
    client.force_login(make_buyer())
    assert "/shop/points/" in client.get("/shop/").content.decode()
    switch_module(code="points", enabled=False, actor=admin_user)
    modules.forget_switches()  # the after-commit clearing, in this test's transaction
    assert "/shop/points/" not in client.get("/shop/").content.decode()


def test_an_expired_cache_entry_still_finds_the_session(client):
    buyer = make_buyer()
    client.force_login(buyer)
    caches["default"].clear()  # a Redis restart: sessions stay in the database
    page = client.get("/shop/account/")
    assert page.status_code == 200  # not sent to log in
    assert page.wsgi_request.user == buyer
