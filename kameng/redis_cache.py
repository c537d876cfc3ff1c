"""Django's Redis cache backend, reusing one redis client per connection pool.

Django's RedisCacheClient builds a new ``redis.Redis`` for every cache call;
building one fills its response-callback table (a few hundred dict writes),
which cost more CPU than the GET it serves: a purchase (the buy POST and the
order page) makes about a dozen cache calls (issue 12). A ``redis.Redis`` is
safe to share between threads (each command borrows a connection from the
pool), so one per pool serves every call.

`incr` is one round trip instead of Django's two (EXISTS, then INCRBY): a
script increments the key only if it exists, atomically. Every rate-limited
POST increments its counter (kameng.ratelimits), and Django's two steps also
let a key that expired between them come back as a counter without an expiry.
Everything else is Django's.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

# KEYS[1] += ARGV[1] if it exists; nil (None) if not.
INCR_IF_PRESENT = """
if redis.call('exists', KEYS[1]) == 1 then
  return redis.call('incrby', KEYS[1], ARGV[1])
end
return false
"""


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            # a race builds two; either one serves
            client = self._client(connection_pool=pool)
            client.incr_if_present = client.register_script(INCR_IF_PRESENT)
            self._clients[id(pool)] = client
        return client

    def incr(self, key, delta):
        client = self.get_client(key, write=True)
        value = client.incr_if_present(keys=[key], args=[delta])
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value


class ReusingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
