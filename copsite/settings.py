"""copsite settings: one file, driven by the environment.

With no variables set this is the *embedded default*: SQLite, Celery on the
filesystem broker and mail written to files, all under ``var/``, DEBUG on.
``DEBUG=0`` switches to production, which then requires ``SECRET_KEY`` and
``ALLOWED_HOSTS``; ``DATABASE_URL``, ``REDIS_URL`` and ``EMAIL_URL`` (or the
``EMAIL_HOST`` family) point it at real services. A bad value raises
``ConfigError``; ``copsite.boot`` turns that into one line on stderr.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from celery.schedules import crontab
from csp.constants import NONCE

from core.env import (
    SQLITE_OPTIONS,
    ConfigError,
    check_redis_url,
    env_bool,
    env_int,
    env_list,
    env_str,
    parse_database_url,
    parse_email_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("COPSITE_VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", True)
PRODUCTION = not DEBUG


def _dev_secret_key() -> str:
    """A random key kept in var/ so dev sessions survive a restart."""
    path = VAR_DIR / "dev-secret-key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ConfigError(
            "SECRET_KEY must be set when DEBUG=0 (e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = _dev_secret_key()
elif PRODUCTION and len(SECRET_KEY) < 50:
    raise ConfigError("SECRET_KEY must be at least 50 characters long in production.")

SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
_site = urlsplit(SITE_URL)
if _site.scheme not in {"http", "https"} or not _site.hostname:
    raise ConfigError(f"SITE_URL must look like https://forum.example.org; got {SITE_URL!r}.")
# The site's name in page titles and mail ("Hello from copsite!").
COPSITE_NAME = env_str("COPSITE_NAME", "copsite")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ConfigError("ALLOWED_HOSTS must be set when DEBUG=0 (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [f"{_site.scheme}://{_site.netloc}"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "django_htmx",
    "taggit",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    *[f"allauth.socialaccount.providers.{name}" for name in env_list("SOCIAL_PROVIDERS", [])],
    "core",
    "accounts",
    "communities",
    "discussions",
    "resources",
    "value",
    "events",
    "attachments",
    "notifications",
    "bookmarks",
    "practice",
    "digests",
    "discovery",
    "portability",
    "replies",
    "insights",
]
# The benchmark tools (bench/): never part of a product install.
if env_bool("BENCH_TOOLS", False):
    INSTALLED_APPS.append("bench")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    "core.middleware.RejectNulMiddleware",
    "core.middleware.ServiceUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After the header-setting middleware, so cached pages get the same security headers.
    "core.pagecache.AnonymousPageCacheMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns a service's Refused into the 403 page, a login page or an htmx sentence (core/refusals.py).
    "core.refusals.RefusalMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.UserTimezoneMiddleware",
]

ROOT_URLCONF = "copsite.urls"
WSGI_APPLICATION = "copsite.wsgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        # Every copsite template: Jinja2, in templates/ (core/jinja.py says why and how).
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "core.jinja.environment",
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.site",
                "core.context_processors.csrf",
                "notifications.context_processors.bell",
            ],
        },
    },
    {
        # The admin's and allauth's own templates, and our one Django template:
        # templates/django/allauth/layouts/base.html, which dresses allauth's pages
        # in templates/base.html (core/templatetags/site_layout.py).
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates" / "django"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------

_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES: dict[str, Mapping[str, Any]] = {"default": parse_database_url(_database_url)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": dict(SQLITE_OPTIONS),  # see core/env.py
            # A file (not :memory:) so a live Celery worker started by the
            # tests can read what the test wrote.
            "TEST": {"NAME": str(VAR_DIR / "test-db.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A few fixed statements are planned once per PostgreSQL session (core.db.fetch_prepared).
# 0 behind a pooler that shares sessions between clients (PgBouncer in transaction mode).
PREPARED_STATEMENTS = env_bool("PREPARED_STATEMENTS", True)
if PREPARED_STATEMENTS and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Their plan is made once, at PREPARE (the generic plan): otherwise PostgreSQL keeps
    # planning a statement whose one-off plans look cheaper, which is what preparing avoids.
    # Only those statements are prepared, so no other query is affected.
    _options = dict(DATABASES["default"].get("OPTIONS", {}))
    _options["options"] = f"{_options.get('options', '')} -c plan_cache_mode=force_generic_plan".strip()
    DATABASES["default"] = {**DATABASES["default"], "OPTIONS": _options}

# --- Cache, Celery --------------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    check_redis_url(REDIS_URL)
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            # Django's RedisCache, but a Redis outage degrades instead of failing requests.
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "copsite",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    # Longer than the longest task, else a slow task is delivered twice (docs/reliability.md).
    _visibility_timeout = env_int("CELERY_VISIBILITY_TIMEOUT", 1800, minimum=1)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
        "visibility_timeout": _visibility_timeout,
        "socket_timeout": 5,
        "socket_connect_timeout": 5,
        # A killed worker's messages come back once visibility_timeout has passed,
        # at the next restore sweep: scan every interval (kombu scans only every
        # 10th by default, which made 30 s five minutes).
        "unacked_restore_interval": min(30, max(1, _visibility_timeout // 10)),
        "unacked_restore_throttle": 1,
    }
else:
    # File cache: shared by every process on the machine, so rate limits hold
    # across web workers even without Redis.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
        }
    }
    _celery_dir = Path(env_str("CELERY_FILESYSTEM_DIR") or VAR_DIR / "celery")
    for _sub in ("queue", "processed", "control"):
        (_celery_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
    }

CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "copsite")
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A cold shutdown (SIGQUIT, as `make run`'s Ctrl-C sends) first lets tasks in
# flight finish for this long, then cancels the rest and hands their
# unacknowledged messages back to the broker (scripts/run-embedded.sh says why).
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 1.0
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # The database is the source of truth: this sweep sends any email whose
    # "send now" message was lost (broker down, worker killed).
    "send-pending-email": {
        "task": "copsite.send_pending_email",
        "schedule": crontab(minute="*/2"),
    },
    "compute-participation": {
        "task": "communities.compute_participation",
        "schedule": crontab(hour=2, minute=30),
    },
    # Levels move within the hour for communities where someone contributed today or yesterday.
    "recompute-recent-participation": {
        "task": "communities.recompute_recent_participation",
        "schedule": crontab(minute=20),
    },
    # Bans with an end date are lifted once it passes (communities/services.py).
    "lift-expired-bans": {
        "task": "communities.lift_expired_bans",
        "schedule": crontab(minute="*/10"),
    },
    # Newcomers' questions unanswered for a day: their facilitators are told, once per question.
    "alert-unanswered-questions": {
        "task": "notifications.alert_unanswered_questions",
        "schedule": crontab(minute=5),
    },
    # Facilitators who chose a daily email of their review work (notifications/alerts.py).
    "send-facilitator-summaries": {
        "task": "notifications.send_facilitator_summaries",
        "schedule": crontab(minute=35),
    },
    "purge-deleted-posts": {
        "task": "discussions.purge_deleted_content",
        "schedule": crontab(hour=3, minute=15),
    },
    # Removed resources are restorable for 30 days, then deleted with their files.
    "purge-removed-resources": {
        "task": "resources.purge_removed",
        "schedule": crontab(hour=3, minute=45),
    },
    # Attachments uploaded a day ago that no post, resource or event took.
    "sweep-orphan-attachments": {
        "task": "attachments.sweep_orphans",
        "schedule": crontab(minute=40),
    },
    "plan-digests": {
        "task": "digests.plan",
        "schedule": crontab(minute="*/15"),
    },
    "send-notification-emails": {
        "task": "digests.send_notification_emails",
        "schedule": crontab(minute="*/2"),
    },
    # A pause of email "for a week" ends by itself.
    "resume-email": {
        "task": "accounts.resume_email",
        "schedule": crontab(minute="*/5"),
    },
    # Bookmark reminders that are due become notifications (and emails), each once.
    "deliver-reminders": {
        "task": "bookmarks.deliver_reminders",
        "schedule": 60.0,
    },
    # "Did you try it?": commitments due an ask, each asked once (practice/services.py).
    "practice-ask-due": {
        "task": "practice.ask_due",
        "schedule": crontab(minute=20),
    },
    "run-events": {
        "task": "discussions.run_events",
        "schedule": 60.0,
    },
    # Recurring events: occurrences exist 92 days ahead; each day adds the next (events/services.py).
    "extend-series": {
        "task": "events.extend_series",
        "schedule": crontab(hour=1, minute=5),
    },
    # Drafts nobody typed into for a month (core/drafts.py).
    "sweep-drafts": {
        "task": "copsite.sweep_drafts",
        "schedule": crontab(hour=3, minute=45),
    },
    # Inbound mail whose "take it now" message was lost (replies/tasks.py).
    "sweep-queued-mail": {
        "task": "replies.sweep_queued_mail",
        "schedule": crontab(minute="*/5"),
    },
    "heartbeat": {
        "task": "copsite.heartbeat",
        "schedule": 60.0,
    },
}

# --- Email ----------------------------------------------------------------

DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"copsite <noreply@{_site.hostname}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_email_url = env_str("EMAIL_URL")
if _email_url:
    globals().update(parse_email_url(_email_url))
elif env_str("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_str("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
    if EMAIL_USE_TLS and EMAIL_USE_SSL:
        raise ConfigError("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
EMAIL_TIMEOUT = 15
EMAIL_MAX_ATTEMPTS = env_int("EMAIL_MAX_ATTEMPTS", 6, minimum=1)
EMAIL_RETRY_BASE_SECONDS = env_int("EMAIL_RETRY_BASE_SECONDS", 30, minimum=1)

# --- Reply by email (replies/) -------------------------------------------------
# Mail reaches replies.inbound.receive() from an ESP's inbound webhook (django-anymail,
# ANYMAIL_INBOUND_ESP) or from a mailbox the site polls (REPLY_IMAP_HOST).
ANYMAIL_INBOUND_ESP = env_str("ANYMAIL_INBOUND_ESP").lower()
if ANYMAIL_INBOUND_ESP and ANYMAIL_INBOUND_ESP not in {"mailgun", "postmark", "sendgrid", "amazon_ses", "mailjet"}:
    raise ConfigError(
        f"ANYMAIL_INBOUND_ESP must be mailgun, postmark, sendgrid, amazon_ses or mailjet; got {ANYMAIL_INBOUND_ESP!r}."
    )
_anymail_secrets = {
    # Basic-auth "user:password" the ESP puts in the webhook URL (Postmark, SendGrid, Mailjet, SES).
    "WEBHOOK_SECRET": env_str("ANYMAIL_WEBHOOK_SECRET"),
    # Mailgun signs each webhook with this key instead.
    "MAILGUN_WEBHOOK_SIGNING_KEY": env_str("MAILGUN_WEBHOOK_SIGNING_KEY"),
}
ANYMAIL = {name: value for name, value in _anymail_secrets.items() if value}
# Webhooks that anyone could call would let a stranger post as a member or pause their email.
if ANYMAIL_INBOUND_ESP == "mailgun" and "MAILGUN_WEBHOOK_SIGNING_KEY" not in ANYMAIL:
    raise ConfigError("ANYMAIL_INBOUND_ESP=mailgun needs MAILGUN_WEBHOOK_SIGNING_KEY.")
if ANYMAIL_INBOUND_ESP not in {"", "mailgun"} and "WEBHOOK_SECRET" not in ANYMAIL:
    raise ConfigError(f"ANYMAIL_INBOUND_ESP={ANYMAIL_INBOUND_ESP} needs ANYMAIL_WEBHOOK_SECRET (user:password).")
# Notification emails carry a Reply-To "reply+<token>@REPLY_DOMAIN" once an inbound way is set up.
REPLY_BY_EMAIL = env_bool("REPLY_BY_EMAIL", bool(ANYMAIL_INBOUND_ESP or env_str("REPLY_IMAP_HOST")))
REPLY_DOMAIN = (env_str("REPLY_DOMAIN") or _site.hostname or "").lower()
# A reply address works this many days after the last email that carried it.
REPLY_KEY_DAYS = env_int("REPLY_KEY_DAYS", 90, minimum=1)
# Explanations of a refused reply, per sender address: "N/seconds" windows.
REPLY_REFUSAL_RATE_LIMIT = env_str("REPLY_REFUSAL_RATE_LIMIT", "3/86400")
# More Received headers than this: a mail loop, not a person.
REPLY_MAX_RECEIVED = env_int("REPLY_MAX_RECEIVED", 25, minimum=1)
# Tries at taking one inbound mail before it is left failed (replies/tasks.py).
REPLY_MAX_ATTEMPTS = env_int("REPLY_MAX_ATTEMPTS", 6, minimum=1)

# --- Accounts (django-allauth) -------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
# username is the public handle used for @mentions and profile URLs.
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupExtraForm"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_USERNAME_BLACKLIST = [
    "admin",
    "administrator",
    "root",
    "staff",
    "support",
    "copsite",
    "system",
    "me",
    "settings",
]
ACCOUNT_SIGNUP_FORM_HONEYPOT_FIELD = "website"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = _site.scheme
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{COPSITE_NAME}] "
# allauth's own limits (kept in the cache, so shared by all web workers when
# REDIS_URL is set). Written out so they are visible and tested.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    # "key" is the client address plus the typed email (accounts/adapter.py),
    # never the account alone: a stranger's wrong passwords must not lock a member out.
    "login_failed": "10/m/ip,5/300s/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "confirm_email": "1/180s/key",
}
# Every per-address limit (allauth's and core/ratelimit.py's) reads the
# client address from REMOTE_ADDR, or, behind N proxies of your own that each
# append to X-Forwarded-For, from the Nth entry from the right. Leave it 0
# without such a proxy: the header is then whatever the client says.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
SOCIALACCOUNT_ADAPTER = "allauth.socialaccount.adapter.DefaultSocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_QUERY_EMAIL = True

# --- Security -------------------------------------------------------------

# Sessions live in the database (Django's own backends). A written-out read saved a member's
# lightest thread page 8 % of its instructions (2.43 vs 2.20 ms CPU per request, bench/cpu.py
# --batches 5; 13.4 M vs 12.4 M instructions, bench/instructions.py; 2026-12-02): not the 20 %
# that earns one (README, "Pages are fast").
# Read through the cache (Redis, or the shared file cache without it) and written through to the
# database: a member's request loads its session without a query, and a cache outage falls back
# to the table. Ending someone's sessions goes through SessionStore.delete(), which clears both.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    # Set SECURE_SSL_REDIRECT=0 only when a TLS-terminating proxy already
    # redirects; set TRUST_X_FORWARDED_PROTO=1 when that proxy sets the header.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    # Both off by default: they commit the whole domain, not just this site.
    # includeSubDomains makes every subdomain (a wiki, a mail web UI, an
    # intranet box on plain HTTP) unreachable without HTTPS for a year, and
    # preload asks browsers to hard-code that, which takes months to undo.
    # Only the domain's owner can promise that; they opt in with these two.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    # Django warns whenever either is off (security.W005, security.W021); off
    # is the documented default above, so those two warnings say nothing new.
    SILENCED_SYSTEM_CHECKS = [
        *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
        *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
    ]
    if env_bool("TRUST_X_FORWARDED_PROTO", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Browser features no page here uses, switched off for every page (core/middleware.py).
PERMISSIONS_POLICY_DISABLED = [
    "accelerometer",
    "camera",
    "geolocation",
    "gyroscope",
    "magnetometer",
    "microphone",
    "payment",
    "usb",
]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # No inline scripts; a template that needs one uses {{ request.csp_nonce }}
        # (the nonce joins the header only on pages that use it).
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        # Posts link to remote images rather than show them (core/markup.py),
        # so no page makes a reader's browser call a third party.
        "img-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Static and media -----------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")

# --- Internationalisation -------------------------------------------------

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
# The interface is written in English only (no catalogues, no LocaleMiddleware).
# With translation off, every gettext call (allauth's strings, "3 hours ago" on
# each row) returns its text directly: a fifth of a thread page's time was
# spent asking the translation machinery for English. Formats stay the "en" ones.
USE_I18N = False
USE_TZ = True

# --- Logging: structured lines on stdout ----------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL; got {LOG_LEVEL!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json" if env_bool("LOG_JSON", PRODUCTION) else "plain",
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"level": "INFO"},
    },
}

# --- copsite --------------------------------------------------------------

# Posting limits per person (threads and replies): "N/seconds" windows.
POST_RATE_LIMIT = env_str("POST_RATE_LIMIT", "6/60,60/3600")
# Accounts younger than a day get a tighter budget (spam runs start fresh).
NEW_ACCOUNT_POST_RATE_LIMIT = env_str("NEW_ACCOUNT_POST_RATE_LIMIT", "3/60,10/86400")
# Every action people can repeat in bulk, counted per person and per IP
# address (core/ratelimit.py): (person, address) as "N/seconds" windows.
# An unset address limit is five times the person's limit in force:
# colleagues often share one office address.
RATE_LIMITS = {
    "post": (POST_RATE_LIMIT, env_str("POST_IP_RATE_LIMIT") or None),
    # A preview renders Markdown as a post does (hostile input: half a second of CPU each).
    "preview": (env_str("PREVIEW_RATE_LIMIT", "10/60,100/3600"), env_str("PREVIEW_IP_RATE_LIMIT") or None),
    # The composer's live preview, sent as the writer pauses (composer.js waits for a pause in typing).
    "live_preview": (
        env_str("LIVE_PREVIEW_RATE_LIMIT", "60/60,600/3600"),
        env_str("LIVE_PREVIEW_IP_RATE_LIMIT") or None,
    ),
    # The composer's @mention suggestions (one look-up per pause while typing a name).
    "mention": (env_str("MENTION_RATE_LIMIT", "120/60,1200/3600"), env_str("MENTION_IP_RATE_LIMIT") or None),
    "react": (env_str("REACT_RATE_LIMIT", "60/60,600/3600"), env_str("REACT_IP_RATE_LIMIT") or None),
    # Watching levels (the watching control on thread and community pages).
    "watch": (env_str("WATCH_RATE_LIMIT", "30/60,300/3600"), env_str("WATCH_IP_RATE_LIMIT") or None),
    "flag": (env_str("FLAG_RATE_LIMIT", "10/3600"), env_str("FLAG_IP_RATE_LIMIT") or None),
    # Asking for (or, with open creation, creating) a community.
    "community_request": (
        env_str("COMMUNITY_REQUEST_RATE_LIMIT", "3/3600,10/86400"),
        env_str("COMMUNITY_REQUEST_IP_RATE_LIMIT") or None,
    ),
    "invite": (env_str("INVITE_RATE_LIMIT", "30/3600,100/86400"), env_str("INVITE_IP_RATE_LIMIT") or None),
    "search": (env_str("SEARCH_RATE_LIMIT", "30/60"), env_str("SEARCH_IP_RATE_LIMIT") or None),
    "resource": (env_str("RESOURCE_RATE_LIMIT", "10/3600"), env_str("RESOURCE_IP_RATE_LIMIT") or None),
    # Value notes (value/views.py): a member notes a few items a day, not dozens a minute.
    "value": (env_str("VALUE_RATE_LIMIT", "10/60,60/3600"), env_str("VALUE_IP_RATE_LIMIT") or None),
    # Zips are built in the request (member data, community export); the delete form checks a password.
    "export": (env_str("EXPORT_RATE_LIMIT", "10/3600"), env_str("EXPORT_IP_RATE_LIMIT") or None),
    "delete_account": (env_str("DELETE_ACCOUNT_RATE_LIMIT", "5/300"), None),
    # Pictures and PDFs put into posts (each one is read and re-encoded).
    "attach": (env_str("ATTACH_RATE_LIMIT", "20/60,200/3600"), env_str("ATTACH_IP_RATE_LIMIT") or None),
    # The server's copy of a draft: site.js saves 1.5 s after typing stops and as a page is left,
    # and reads one per posting form it shows. Generous: a member typing all hour stays under it.
    "draft": (env_str("DRAFT_RATE_LIMIT", "120/60,3000/3600"), env_str("DRAFT_IP_RATE_LIMIT") or None),
}
# A member with fewer than HOLD_NEW_MEMBER_POSTS visible posts in a community
# whose thread or reply has more than HOLD_LINK_LIMIT links waits for a
# facilitator's approval (discussions/services.py).
HOLD_NEW_MEMBER_POSTS = env_int("HOLD_NEW_MEMBER_POSTS", 3, minimum=0)
HOLD_LINK_LIMIT = env_int("HOLD_LINK_LIMIT", 2, minimum=0)
# Optional Akismet-compatible spam check of new posts (core/spam.py): off
# unless a key is set. Suspected spam is held for review like the above.
AKISMET_API_KEY = env_str("AKISMET_API_KEY")
AKISMET_URL = env_str("AKISMET_URL", "https://rest.akismet.com/1.1/").rstrip("/") + "/"
if urlsplit(AKISMET_URL).scheme not in {"http", "https"}:
    raise ConfigError(f"AKISMET_URL must start with https:// (or http://); got {AKISMET_URL!r}.")
AKISMET_TIMEOUT_SECONDS = env_int("AKISMET_TIMEOUT_SECONDS", 3, minimum=1)
# Resource uploads: size limit (the proxy in front should allow a little more).
RESOURCE_MAX_UPLOAD_BYTES = env_int("RESOURCE_MAX_UPLOAD_MB", 10, minimum=1) * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 5
# Pictures and PDFs in posts, resources and events (attachments/): the same size limit and checks
# as resource uploads, at most this much stored per person a day, and wider pictures get a copy
# this wide to show inside the post.
ATTACHMENT_DAILY_BYTES = env_int("ATTACHMENT_DAILY_MB", 100, minimum=1) * 1024 * 1024
ATTACHMENT_THUMBNAIL_WIDTH = env_int("ATTACHMENT_THUMBNAIL_WIDTH", 1200, minimum=100)
# Digests: people not seen for this long get none until they return; runs
# are built in chunks of this many people; a planned run not built after
# this many minutes (lost message, killed worker) is handed out again.
DIGEST_DORMANT_DAYS = env_int("DIGEST_DORMANT_DAYS", 180, minimum=1)
DIGEST_CHUNK_SIZE = env_int("DIGEST_CHUNK_SIZE", 50, minimum=1)
# Building fans out over at most DIGEST_BUILD_TASKS chunks of DIGEST_CHUNK_SIZE to DIGEST_CHUNK_MAX people
# (digests/planning.py chunks): queries stay flat as members grow, each chunk one bounded transaction.
DIGEST_BUILD_TASKS = env_int("DIGEST_BUILD_TASKS", 8, minimum=1)
DIGEST_CHUNK_MAX = env_int("DIGEST_CHUNK_MAX", 2000, minimum=1)
DIGEST_REBUILD_AFTER_MINUTES = env_int("DIGEST_REBUILD_AFTER_MINUTES", 10, minimum=1)
POSTS_PER_PAGE = env_int("POSTS_PER_PAGE", 50, minimum=5)
THREADS_PER_PAGE = env_int("THREADS_PER_PAGE", 20, minimum=5)
# Whole pages for anonymous visitors, invalidated on every relevant write (core/pagecache.py).
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 300, minimum=0)
INVITATION_MAX_AGE_DAYS = env_int("INVITATION_MAX_AGE_DAYS", 14, minimum=1)
# Off: members with a verified address ask for a new community and a site admin decides.
# On: they create it at once and own it.
COPSITE_OPEN_COMMUNITY_CREATION = env_bool("COPSITE_OPEN_COMMUNITY_CREATION", False)
# Participation levels (communities/participation.py): over the last N days a
# member is core with ≥ CORE contributions, active with ≥ ACTIVE contributions
# or ≥ ACTIVE_REACTIONS reactions, peripheral with any visit or contribution.
PARTICIPATION_WINDOW_DAYS = env_int("PARTICIPATION_WINDOW_DAYS", 90, minimum=1)
PARTICIPATION_CORE_CONTRIBUTIONS = env_int("PARTICIPATION_CORE_CONTRIBUTIONS", 12, minimum=1)
PARTICIPATION_ACTIVE_CONTRIBUTIONS = env_int("PARTICIPATION_ACTIVE_CONTRIBUTIONS", 2, minimum=1)
PARTICIPATION_ACTIVE_REACTIONS = env_int("PARTICIPATION_ACTIVE_REACTIONS", 10, minimum=1)
PARTICIPATION_PERIPHERAL_VISIT_DAYS = env_int("PARTICIPATION_PERIPHERAL_VISIT_DAYS", 1, minimum=1)

# --- Reply by email: the IMAP mailbox (replies/imap.py) -------------------

# Replies sent to the reply addresses land in a mailbox that a beat task polls
# every minute over TLS; a message is moved to REPLY_IMAP_PROCESSED_FOLDER
# only after its reply is saved, and to REPLY_IMAP_FAILED_FOLDER after
# REPLY_IMAP_MAX_FAILURES polls that could not take it. REPLY_IMAP_SSL=1 is
# TLS from the first byte (port 993); 0 means STARTTLS on 143, never plain text.
REPLY_IMAP_HOST = env_str("REPLY_IMAP_HOST")
REPLY_IMAP_SSL = env_bool("REPLY_IMAP_SSL", True)
REPLY_IMAP_PORT = env_int("REPLY_IMAP_PORT", 993 if REPLY_IMAP_SSL else 143, minimum=1)
REPLY_IMAP_USER = env_str("REPLY_IMAP_USER")
REPLY_IMAP_PASSWORD = env_str("REPLY_IMAP_PASSWORD")
REPLY_IMAP_FOLDER = env_str("REPLY_IMAP_FOLDER", "INBOX")
REPLY_IMAP_PROCESSED_FOLDER = env_str("REPLY_IMAP_PROCESSED_FOLDER", "Processed")
REPLY_IMAP_FAILED_FOLDER = env_str("REPLY_IMAP_FAILED_FOLDER", "Failed")
REPLY_IMAP_MAX_FAILURES = env_int("REPLY_IMAP_MAX_FAILURES", 5, minimum=1)
# A private CA's certificate (PEM) to trust besides the system's.
REPLY_IMAP_CA_FILE = env_str("REPLY_IMAP_CA_FILE")
if REPLY_IMAP_HOST and not (REPLY_IMAP_USER and REPLY_IMAP_PASSWORD):
    raise ConfigError("REPLY_IMAP_HOST is set: REPLY_IMAP_USER and REPLY_IMAP_PASSWORD must be set too.")
if REPLY_IMAP_CA_FILE and not Path(REPLY_IMAP_CA_FILE).is_file():
    raise ConfigError(f"REPLY_IMAP_CA_FILE is not a readable file: {REPLY_IMAP_CA_FILE!r}.")
if not all(
    name.isascii() and name.isprintable()
    for name in (REPLY_IMAP_FOLDER, REPLY_IMAP_PROCESSED_FOLDER, REPLY_IMAP_FAILED_FOLDER)
):
    # IMAP spells other names in modified UTF-7; the poll sends names as they are.
    raise ConfigError("REPLY_IMAP_FOLDER, REPLY_IMAP_PROCESSED_FOLDER and REPLY_IMAP_FAILED_FOLDER must be ASCII.")
if len({REPLY_IMAP_FOLDER, REPLY_IMAP_PROCESSED_FOLDER, REPLY_IMAP_FAILED_FOLDER}) != 3:
    raise ConfigError("REPLY_IMAP_FOLDER, REPLY_IMAP_PROCESSED_FOLDER and REPLY_IMAP_FAILED_FOLDER must differ.")
CELERY_IMPORTS = ["replies.imap_tasks"]
if REPLY_IMAP_HOST:
    CELERY_BEAT_SCHEDULE["poll-reply-mailbox"] = {"task": "replies.poll_imap", "schedule": 60.0}
