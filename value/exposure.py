"""Value notes a visitor would read if the community were public (``communities.exposure``).

Notes show on public thread and resource pages with their authors' names, so
an owner making a private community public sees them counted, and the people
who wrote them named, before confirming.
"""

from __future__ import annotations

from django.db.models import Q

from communities import exposure, policy
from communities.models import Community
from value.models import ValueNote


def value_exposure(community: Community) -> exposure.Exposed:
    # What the pages would show everyone: notes on published threads and posts, on resources not removed.
    shown = (
        ValueNote.objects.filter(community=community)
        .filter(
            Q(resource__isnull=False, resource__removed_at__isnull=True)
            | Q(
                Q(post__isnull=True) | policy.published_posts_q("post__"),
                policy.published_threads_q("thread__"),
                thread__isnull=False,
            )
        )
        .order_by("-created_at", "-pk")
    )
    listing = exposure.listing("Value notes", shown, "text", order=47)
    # Listed when there are any, as attachments do: a community without notes sees its page as it was.
    return exposure.Exposed([listing], people=[shown.values("author_id")]) if listing.count else exposure.Exposed([])
