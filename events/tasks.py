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
