from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from notifications import email


# The task keeps the name it was first published under: beat schedules and queued messages use it.
@shared_task(name="digests.send_notification_emails", time_limit=120, soft_time_limit=100)
def send_notification_emails(now: str | None = None) -> int:
    """Every 2 minutes: email the notifications people asked for right away, grouped per thread."""
    return email.sweep(datetime.fromisoformat(now) if now else timezone.now())
