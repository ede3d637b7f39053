from __future__ import annotations

from celery import shared_task


# The task keeps the name it was first published under: beat schedules and queued messages use it.
@shared_task(name="discussions.run_events", time_limit=120, soft_time_limit=100)
def run_events(now: str | None = None) -> dict[str, int]:
    """Every minute: open started chats, post due questions, send hour-ahead reminders."""
    from datetime import datetime

    from django.utils import timezone

    from events import services as events

    instant = datetime.fromisoformat(now) if now else timezone.now()
    return {"questions": events.run_chats(instant), "reminders": events.send_reminders(instant)}


@shared_task(name="events.extend_series", time_limit=600, soft_time_limit=540)
def extend_series(today: str | None = None) -> int:
    """Daily: every recurring series gets its occurrences up to 92 days ahead (idempotent)."""
    from datetime import date

    from django.utils import timezone

    from events import services as events

    return events.extend_series(date.fromisoformat(today) if today else timezone.localdate())
