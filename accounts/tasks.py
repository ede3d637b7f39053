from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from accounts import services


@shared_task(name="accounts.resume_email", time_limit=60, soft_time_limit=50)
def resume_email(now: str | None = None) -> int:
    """Every 5 minutes: email comes back on for people whose pause for a while has ended."""
    return services.resume_ended_pauses(datetime.fromisoformat(now) if now else timezone.now())
