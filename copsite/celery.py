"""The Celery app: settings come from Django's (prefixed CELERY_), tasks from every app."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "copsite.settings")

app = Celery("copsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

if Path(sys.argv[0]).name in {"celery", "__main__.py"} and "celery" in " ".join(sys.argv[:2]):
    # Started as `celery -A copsite …`: a configuration mistake is one line, not a traceback.
    from copsite.boot import load_settings_or_exit

    load_settings_or_exit()
