"""Test settings: copsite.settings, isolated from a developer's running instance."""

import os

from copsite.settings import *  # noqa: F403
from copsite.settings import REDIS_URL, VAR_DIR

# Fast hashing: tests create many users. Argon2 stays the production default.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A queue of our own, so a `make run` worker on the same broker never takes
# the tests' messages (the live-worker fixture consumes exactly this queue).
CELERY_TASK_DEFAULT_QUEUE = f"copsite-test-{os.getpid()}"

if not REDIS_URL:
    TEST_CELERY_DIR = VAR_DIR / f"test-celery-{os.getpid()}"
    for _sub in ("queue", "processed", "control"):
        (TEST_CELERY_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(TEST_CELERY_DIR / "queue"),
        "data_folder_out": str(TEST_CELERY_DIR / "queue"),
        "processed_folder": str(TEST_CELERY_DIR / "processed"),
        "control_folder": str(TEST_CELERY_DIR / "control"),
        "store_processed": False,
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / f"test-cache-{os.getpid()}",
        }
    }

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # One file per run: parallel runs (two terminals, CI beside a developer)
    # never share a test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}  # noqa: F405

# Uploaded files written by tests land in a per-run folder, removed at the end.
MEDIA_ROOT = VAR_DIR / f"test-media-{os.getpid()}"
