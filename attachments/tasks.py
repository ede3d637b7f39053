from __future__ import annotations

from celery import shared_task

from attachments.services import sweep_orphans


@shared_task(name="attachments.sweep_orphans", time_limit=300, soft_time_limit=240)
def sweep() -> int:
    """Attachments no post, resource or event took within a day: rows and files deleted, in batches."""
    return sweep_orphans()
