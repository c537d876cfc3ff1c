"""Django's Redis cache backend, reusing one redis client per connection pool.

Django's RedisCacheClient builds a new ``redis.Redis`` for every cache call;
building one fills its response-callback table (a few hundred dict writes),
which cost more CPU than the GET it serves: a purchase (the buy POST and the
order page) makes about a dozen cache calls (issue 12). A ``redis.Redis`` is
safe to share between threads (each command borrows a connection from the
pool), so one per pool serves every call. Everything else is Django's.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            # a race builds two; either one serves
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ReusingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
