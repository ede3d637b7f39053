"""Django's Redis cache, failing open when Redis is unreachable.

The cache holds nothing that must survive (rate-limit counters, page copies,
generation counters), so a Redis outage should make the site slower, not
broken: reads miss, writes are dropped, and ``add`` reports success so
allauth's rate-limit lock never spins. Rate limits are not enforced while
Redis is down (fail open: members can still log in and post); each failure
is logged. After a failure the process leaves Redis alone for REST_SECONDS,
so a hung Redis costs one timeout, not one per call. Django's own RedisCache
raises instead (docs/reliability.md).
"""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
OUTAGE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError, OSError)

# After a failure Redis is left alone this long. A hung server (accepting TCP,
# never answering) would otherwise cost every cache call its socket timeout:
# twelve seconds for one posted reply, measured.
REST_SECONDS = 5
_resting_until: dict[tuple[str, ...], float] = {}  # per server list, for every thread of the process


class RestingRedisClient(RedisCacheClient):
    def get_client(self, key=None, *, write=False):
        if time.monotonic() < _resting_until.get(tuple(self._servers), 0):
            raise RedisConnectionError("Redis failed moments ago; not asked again yet")
        return super().get_client(key, write=write)


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RestingRedisClient

    def _outage(self, operation: str) -> None:
        servers, now = tuple(self._servers), time.monotonic()
        if now >= _resting_until.get(servers, 0):  # a real failure, not one of ours while resting
            _resting_until[servers] = now + REST_SECONDS
            log.warning("cache unavailable during %s; carrying on without it for %s s", operation, REST_SECONDS)

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except OUTAGE:
            self._outage("get")
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except OUTAGE:
            self._outage("get_many")
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except OUTAGE:
            self._outage("has_key")
            return False

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().add(key, value, timeout, version)
        except OUTAGE:
            self._outage("add")
            return True

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set(key, value, timeout, version)
        except OUTAGE:
            self._outage("set")
            return None

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set_many(data, timeout, version)
        except OUTAGE:
            self._outage("set_many")
            return list(data)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().touch(key, timeout, version)
        except OUTAGE:
            self._outage("touch")
            return False

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except OUTAGE:
            self._outage("delete")
            return False

    def delete_many(self, keys, version=None):
        try:
            return super().delete_many(keys, version)
        except OUTAGE:
            self._outage("delete_many")
            return None
