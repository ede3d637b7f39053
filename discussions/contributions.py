"""Profile contributions from discussions: threads started and replies, visible to the viewer only."""

from __future__ import annotations

from django.urls import reverse

from accounts.contributions import Contribution
from accounts.models import User, Viewer
from discussions.models import Post, Thread


def discussion_contributions(viewer: Viewer, person: User, limit: int) -> list[Contribution]:
    threads = (
        Thread.objects.visible_to(viewer)
        .filter(author=person)
        .select_related("community")
        .order_by("-created_at")[:limit]
    )
    replies = (
        Post.objects.readable_by(viewer)
        .filter(author=person, depth__gt=0)
        .select_related("thread__community")
        .order_by("-created_at")[:limit]
    )
    items = [Contribution("Started", t.title, t.get_absolute_url(), t.community.name, t.created_at) for t in threads]
    items += [
        Contribution(
            "Replied in",
            p.thread.title,
            reverse("discussions:post", kwargs={"pk": p.pk}),
            p.thread.community.name,
            p.created_at,
        )
        for p in replies
    ]
    return items
