"""Beat work for the library: resources removed over 30 days ago are deleted for good."""

from __future__ import annotations

from celery import shared_task

from resources import services


@shared_task(name="resources.purge_removed", time_limit=300, soft_time_limit=270)
def purge_removed() -> int:
    """Resources removed longer than ``services.RESTORE_WINDOW`` ago, with their files and earlier versions."""
    return services.purge_removed()
