"""Small fixed-window rate limits kept in Django's cache (Redis in production: shared by all workers).

allauth limits sign-up and login itself; this covers posting. If the cache is
unreachable the limiter lets the request through (fail open) and logs it: a
cache outage must not stop members from posting (RELIABILITY.md C-redis-down-cache).
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache

log = logging.getLogger(__name__)


def parse_limits(spec: str) -> list[tuple[int, int]]:
    """ "5/60,60/3600" → [(5, 60), (60, 3600)]: at most N actions per S seconds."""
    limits = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        count, seconds = part.split("/")
        limits.append((int(count), int(seconds)))
    return limits


def consume(action: str, key: str, spec: str) -> int | None:
    """Count one action; return None if allowed, else the seconds until the window resets."""
    now = int(time.time())
    try:
        for count, seconds in parse_limits(spec):
            window = now // seconds
            cache_key = f"rl:{action}:{key}:{seconds}:{window}"
            cache.add(cache_key, 0, timeout=seconds + 5)
            if cache.incr(cache_key) > count:
                return seconds - now % seconds
    except Exception:
        log.warning("rate limit cache unavailable; allowing %s for %s", action, key, exc_info=True)
    return None
