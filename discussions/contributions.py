"""Profile contributions from discussions: threads started and replies, visible to the viewer only."""

from __future__ import annotations

from django.urls import reverse

from accounts.contributions import Contribution, register
from communities import policy
from discussions.models import Post, Thread


def discussion_contributions(viewer, person, limit: int) -> list[Contribution]:
    visible = policy.visible_communities(viewer)
    threads = (
        Thread.objects.filter(author=person, community__in=visible, held_at__isnull=True)
        .select_related("community")
        .order_by("-created_at")[:limit]
    )
    replies = (
        Post.objects.filter(
            author=person,
            depth__gt=0,
            deleted_at__isnull=True,
            hidden_at__isnull=True,
            thread__community__in=visible,
        )
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


register(discussion_contributions)
