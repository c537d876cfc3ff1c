"""kameng.redis_cache: Django's Redis cache with one client per pool and `incr`
in one round trip, behaving as Django's cache API says."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings

from kameng.redis_cache import ReusingRedisCache

pytestmark = pytest.mark.redis


@pytest.fixture
def cache():
    cache = ReusingRedisCache(
        settings.REDIS_URL, {"KEY_PREFIX": "test-redis-cache", "TIMEOUT": 60}
    )
    yield cache
    cache.delete_many(["counter", "gone", "text"])


def test_incr_counts_an_existing_key_and_keeps_its_expiry(cache):
    cache.set("counter", 1, timeout=30)
    assert cache.incr("counter") == 2
    assert cache.incr("counter", 5) == 7
    assert cache.get("counter") == 7
    key = cache.make_and_validate_key("counter")
    ttl = cache._cache.get_client(key).ttl(key)
    assert 0 < ttl <= 30


def test_incr_of_a_missing_key_refuses_and_creates_nothing(cache):
    with pytest.raises(ValueError):
        cache.incr("gone")
    assert cache.get("gone") is None
    assert cache.add("gone", 1, timeout=30)  # still absent: add sets it


def test_incr_of_a_value_that_is_not_a_number_is_an_error(cache):
    cache.set("text", "abc")
    with pytest.raises(Exception, match="not an integer"):
        cache.incr("text")


def test_concurrent_increments_are_all_counted(cache):
    cache.set("counter", 0, timeout=30)

    def count():
        for _ in range(50):
            cache.incr("counter")

    threads = [threading.Thread(target=count) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get("counter") == 200
