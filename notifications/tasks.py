from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from notifications import alerts, email


# The task keeps the name it was first published under: beat schedules and queued messages use it.
@shared_task(name="digests.send_notification_emails", time_limit=120, soft_time_limit=100)
def send_notification_emails(now: str | None = None) -> int:
    """Every 2 minutes: email the notifications people asked for right away, grouped per thread."""
    return email.sweep(datetime.fromisoformat(now) if now else timezone.now())


@shared_task(name="notifications.alert_unanswered_questions", time_limit=300, soft_time_limit=270)
def alert_unanswered_questions(now: str | None = None) -> int:
    """Hourly: newcomers' questions unanswered for a day tell their facilitators, once per question."""
    return alerts.alert_unanswered(datetime.fromisoformat(now) if now else timezone.now())


@shared_task(name="notifications.send_facilitator_summaries", time_limit=300, soft_time_limit=270)
def send_facilitator_summaries(now: str | None = None) -> int:
    """Hourly: the daily email of review work, for each facilitator whose day has come round."""
    return alerts.send_summaries(datetime.fromisoformat(now) if now else timezone.now())
