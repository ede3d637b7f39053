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
from collections.abc import Iterable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.client import Redis
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
    _servers: list[str]  # set by Django's RedisCacheClient.__init__ (private, so not in django-stubs)

    def get_client(self, key: str | bytes | memoryview | None = None, *, write: bool = False) -> Redis:
        if time.monotonic() < _resting_until.get(tuple(self._servers), 0):
            raise RedisConnectionError("Redis failed moments ago; not asked again yet")
        return super().get_client(key, write=write)


class ResilientRedisCache(RedisCache):
    _servers: list[str]  # set by Django's RedisCache.__init__ (private, so not in django-stubs)

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RestingRedisClient

    def _outage(self, operation: str) -> None:
        servers, now = tuple(self._servers), time.monotonic()
        if now >= _resting_until.get(servers, 0):  # a real failure, not one of ours while resting
            _resting_until[servers] = now + REST_SECONDS
            log.warning("cache unavailable during %s; carrying on without it for %s s", operation, REST_SECONDS)

    def get(self, key: Any, default: Any | None = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except OUTAGE:
            self._outage("get")
            return default

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        try:
            return super().get_many(keys, version)
        except OUTAGE:
            self._outage("get_many")
            return {}

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().has_key(key, version)
        except OUTAGE:
            self._outage("has_key")
            return False

    def add(self, key: Any, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return super().add(key, value, timeout, version)
        except OUTAGE:
            self._outage("add")
            return True

    def set(self, key: Any, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        try:
            return super().set(key, value, timeout, version)
        except OUTAGE:
            self._outage("set")
            return None

    def set_many(
        self, data: dict[Any, Any], timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        try:
            return super().set_many(data, timeout, version)
        except OUTAGE:
            self._outage("set_many")
            return list(data)

    def touch(self, key: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return super().touch(key, timeout, version)
        except OUTAGE:
            self._outage("touch")
            return False

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().delete(key, version)
        except OUTAGE:
            self._outage("delete")
            return False

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        try:
            return super().delete_many(keys, version)
        except OUTAGE:
            self._outage("delete_many")
            return None
