"""The tags of a community's threads, for its vocabulary (communities/expertise.py)."""

from __future__ import annotations

from django.db.models import Q

from communities import policy
from communities.models import Community
from discussions.models import Thread


def thread_tags(community: Community) -> Q:
    """``TaggedItem`` rows of ``community``'s published threads (a join on content type: no look-up of its own)."""
    threads = Thread.objects.filter(community=community).filter(policy.published_threads_q()).values("pk")
    return Q(content_type__app_label="discussions", content_type__model="thread", object_id__in=threads)
