from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from practice import services


@shared_task(name="practice.ask_due", time_limit=300, soft_time_limit=270)
def ask_due(now: str | None = None) -> int:
    """Hourly: ask "Did you try it?" of every commitment due, each ask once (practice/services.py)."""
    return services.ask_due(datetime.fromisoformat(now) if now else timezone.now())
