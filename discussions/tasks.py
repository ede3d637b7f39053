from __future__ import annotations

from celery import shared_task

from discussions.services import purge_deleted_content


@shared_task(name="discussions.purge_deleted_content", time_limit=300, soft_time_limit=240)
def purge_deleted() -> int:
    """Deleted posts keep their content 30 days for facilitators, then it is blanked."""
    return purge_deleted_content()


@shared_task(name="discussions.run_events", time_limit=120, soft_time_limit=100)
def run_events(now: str | None = None) -> dict[str, int]:
    """Every minute: open started chats, post due questions, send hour-ahead reminders."""
    from datetime import datetime

    from django.utils import timezone

    from discussions import events

    instant = datetime.fromisoformat(now) if now else timezone.now()
    return {"questions": events.run_chats(instant), "reminders": events.send_reminders(instant)}
