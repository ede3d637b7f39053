"""Profile contributions from the library: resources added, visible to the viewer only."""

from __future__ import annotations

from accounts.contributions import Contribution
from accounts.models import User, Viewer
from resources.models import Resource


def resource_contributions(viewer: Viewer, person: User, limit: int) -> list[Contribution]:
    rows = (
        Resource.objects.visible_to(viewer)
        .filter(added_by=person)
        .select_related("community")
        .order_by("-created_at")[:limit]
    )
    return [
        Contribution(
            f"Added a {r.get_kind_display().lower()}", r.title, r.get_absolute_url(), r.community.name, r.created_at
        )
        for r in rows
    ]
