"""Threads and replies a visitor would read if the community were public (``communities.exposure``)."""

from __future__ import annotations

from communities import exposure
from communities.models import Community
from discussions.models import Post, Thread


def discussion_exposure(community: Community) -> exposure.Exposed:
    # What the thread pages show a visitor: nothing held for review; hidden and
    # deleted posts as a tombstone that still names their author.
    threads = Thread.objects.published().filter(community=community)
    shown_posts = Post.objects.filter(thread__in=threads).exclude(state=Post.State.HELD)
    readable_replies = Post.objects.published().filter(thread__community=community, depth__gt=0)
    return exposure.Exposed(
        [
            exposure.listing("Threads", threads.order_by("-last_activity_at", "-pk"), "title", order=10),
            exposure.Listing("Replies", readable_replies.count(), order=20),
        ],
        people=[
            shown_posts.filter(author__isnull=False).values("author_id"),
        ],
    )


def thread_exposure(thread_id: int) -> exposure.Exposed:
    """One thread's page as its readers see it (a thread moved into a more open community)."""
    shown_posts = Post.objects.filter(thread_id=thread_id).exclude(state=Post.State.HELD)
    readable_replies = Post.objects.published().filter(thread_id=thread_id, depth__gt=0)
    return exposure.Exposed(
        [exposure.Listing("Replies", readable_replies.count(), order=20)],
        people=[shown_posts.filter(author__isnull=False).values("author_id")],
    )
