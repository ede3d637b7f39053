"""Typed readers for configuration taken from environment variables.

Every reader raises ``ConfigError`` with the variable's name and what was
wrong, so a bad deployment fails at start with one sentence instead of a
traceback from deep inside Django (see ``copsite/settings.py``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    from dj_database_url import DBConfig

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


# Web, worker and beat share one SQLite file: WAL lets readers run beside the
# writer, IMMEDIATE takes the write lock up front so writers queue (busy
# timeout) instead of failing mid-transaction.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}


class ConfigError(Exception):
    """A configuration value is missing or malformed."""


def env_str(name: str, default: str = "", environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get(name, default).strip()


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    if name not in environ:
        return default
    value = environ[name].strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {environ[name]!r}.")


def env_int(
    name: str,
    default: int,
    environ: Mapping[str, str] | None = None,
    minimum: int | None = None,
) -> int:
    environ = os.environ if environ is None else environ
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number; got {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}; got {value}.")
    return value


def env_list(name: str, default: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    environ = os.environ if environ is None else environ
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_database_url(url: str, name: str = "DATABASE_URL") -> DBConfig:
    """Turn ``postgres://user:pass@host:port/db`` into a Django DATABASES entry."""
    import dj_database_url

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ConfigError(
            f"{name} must start with postgres:// (or sqlite:///path); got scheme {parts.scheme or '(none)'!r}."
        )
    if parts.scheme != "sqlite":
        if not parts.hostname and not parse_qs(parts.query).get("host"):
            raise ConfigError(f"{name} has no host: expected postgres://USER:PASSWORD@HOST:PORT/NAME.")
        if not parts.path.strip("/"):
            raise ConfigError(f"{name} has no database name: expected postgres://USER:PASSWORD@HOST:PORT/NAME.")
        try:
            parts.port  # noqa: B018 - raises ValueError on a non-numeric port
        except ValueError:
            raise ConfigError(f"{name} has an invalid port.") from None
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ConfigError(f"{name} could not be read: {exc}") from None
    if parts.scheme == "sqlite":
        # The same concurrency settings as the embedded default (see settings.py).
        config["OPTIONS"] = {**SQLITE_OPTIONS, **config.get("OPTIONS", {})}
        config["CONN_MAX_AGE"] = 0
    return config


def parse_email_url(url: str, name: str = "EMAIL_URL") -> dict[str, object]:
    """Read ``smtp://user:pass@host:587`` / ``smtps://…:465`` / ``console://`` into email settings."""
    parts = urlsplit(url)
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme not in {"smtp", "smtps", "submission"}:
        raise ConfigError(f"{name} must start with smtp://, smtps:// or console://; got {parts.scheme or '(none)'!r}.")
    if not parts.hostname:
        raise ConfigError(f"{name} has no host: expected smtp://USER:PASSWORD@HOST:PORT.")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{name} has an invalid port.") from None
    ssl = parts.scheme == "smtps"
    query = parse_qs(parts.query)
    tls = not ssl and (query.get("tls", ["1" if port in (None, 587) else "0"])[0] in TRUE_WORDS)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or (465 if ssl else 587),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": ssl,
        "EMAIL_USE_TLS": tls,
    }


def check_redis_url(url: str, name: str = "REDIS_URL") -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        raise ConfigError(f"{name} must look like redis://HOST:6379/0; got {url!r}.")
    try:
        parts.port  # noqa: B018
    except ValueError:
        raise ConfigError(f"{name} has an invalid port.") from None
    return url
