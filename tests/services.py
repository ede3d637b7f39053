"""Which real services the test run has, and whether they answer."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit


def database_is_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def redis_is_configured() -> bool:
    return bool(os.environ.get("REDIS_URL"))


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=3):
            return True
    except OSError:
        return False


def service_problems() -> list[str]:
    """Empty when PostgreSQL and Redis are configured and answer; else what is wrong."""
    problems = []
    db_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_is_postgres():
        problems.append("DATABASE_URL is not set to a postgres:// URL")
    elif not _reachable(db_url, 5432):
        problems.append(f"PostgreSQL at {urlsplit(db_url).hostname}:{urlsplit(db_url).port or 5432} does not answer")
    if not redis_url:
        problems.append("REDIS_URL is not set")
    elif not _reachable(redis_url, 6379):
        problems.append(f"Redis at {urlsplit(redis_url).hostname}:{urlsplit(redis_url).port or 6379} does not answer")
    else:
        import redis

        try:
            redis.Redis.from_url(redis_url, socket_timeout=3).ping()
        except redis.RedisError as exc:
            problems.append(f"Redis does not answer PING: {exc}")
    return problems
