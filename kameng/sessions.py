"""Sessions: Django's cached_db store, whose read brings the module switches too.

A logged-in person's every request reads their session from the cache, and
nearly every page and the checkout ask the module switches (kameng.modules):
two cache round trips, one after the other. This store reads both keys in one
(get_many) and hands the switches to the request's scope
(modules.prime_scope), which would otherwise read them itself (issue 12: two
round trips fewer per purchase). What a session holds, where it is written and
when it expires stay Django's (cached_db); a session missing from the cache is
read as cached_db reads it.
"""

from __future__ import annotations

from django.contrib.sessions.backends import cached_db
from django.core.cache import caches

from kameng import modules


class SessionStore(cached_db.SessionStore):
    def load(self):
        if self._cache is not caches["default"]:  # the switches live there
            return super().load()
        try:
            found = self._cache.get_many([self.cache_key, modules.CACHE_KEY])
        except Exception:  # as cached_db: a cache that refuses the key is skipped
            return super().load()
        modules.prime_scope(found.get(modules.CACHE_KEY))
        data = found.get(self.cache_key)
        return data if data is not None else super().load()
