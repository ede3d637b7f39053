"""The Celery app: settings come from Django's (prefixed CELERY_), tasks from every app."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "copsite.settings")

app = Celery("copsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
