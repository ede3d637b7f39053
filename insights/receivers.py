"""Receivers of what communities announces (connected in InsightsConfig.ready)."""

from __future__ import annotations

import datetime
from typing import Any

from insights.models import LevelChange


def record_level_changes(
    sender: Any, *, community_id: int, changes: list, at: datetime.datetime, **kwargs: Any
) -> None:
    """Keep each move (communities.participation.LevelMove): one INSERT however many moved."""
    LevelChange.objects.bulk_create(
        [
            LevelChange(community_id=community_id, user_id=m.user_id, old_level=m.old, new_level=m.new, changed_at=at)
            for m in changes
        ],
        batch_size=500,
    )
