from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from bookmarks import services


@shared_task(name="bookmarks.deliver_reminders", time_limit=120, soft_time_limit=100)
def deliver_reminders(now: str | None = None) -> int:
    """Every minute: turn the bookmark reminders that are due into notifications (and emails), each once."""
    return services.deliver_due_reminders(datetime.fromisoformat(now) if now else timezone.now())
