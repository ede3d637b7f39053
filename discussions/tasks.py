from __future__ import annotations

from celery import shared_task

from discussions.services import purge_deleted_content


@shared_task(name="discussions.purge_deleted_content", time_limit=300, soft_time_limit=240)
def purge_deleted() -> int:
    """Deleted posts keep their content 30 days for facilitators, then it is blanked."""
    return purge_deleted_content()
