"""Celery tasks: plan every 15 minutes, build in a bounded number of chunks."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from digests import building, planning


def _when(now: str | None) -> datetime:
    # Tests pass an explicit instant (a controllable clock); beat passes none.
    return datetime.fromisoformat(now) if now else timezone.now()


@shared_task(name="digests.plan", time_limit=300, soft_time_limit=270)
def plan_digests(now: str | None = None) -> int:
    """Create due runs and fan out their building in chunks. Returns the number of runs handed out."""
    instant = _when(now)
    run_ids = planning.plan(instant)
    for chunk in planning.chunks(run_ids):
        build_digests.delay(chunk, instant.isoformat())
    return len(run_ids)


@shared_task(
    name="digests.build",
    time_limit=600,
    soft_time_limit=540,
    autoretry_for=(OperationalError,),
    retry_backoff=10,
    retry_jitter=True,
    max_retries=5,
)
def build_digests(run_ids: list[int], now: str | None = None) -> dict[str, int]:
    return building.build(run_ids, _when(now))
