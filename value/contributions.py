"""Profile contributions from value notes: the notes a person added, on items the viewer may see."""

from __future__ import annotations

from accounts.contributions import Contribution
from accounts.models import User, Viewer
from value import queries
from value.models import CYCLE_LABELS


def value_contributions(viewer: Viewer, person: User, limit: int) -> list[Contribution]:
    return [
        Contribution(
            f"Noted {CYCLE_LABELS[note.cycle].lower()} from",
            note.item_title,
            note.item_url(),
            note.community.name,
            note.created_at,
        )
        for note in queries.visible_notes_by(viewer, person.pk, limit)
    ]
