"""The resources a discussion produced or discusses, shown with its opening post (discussions.post_extras)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from communities import policy
from resources import queries
from resources.models import Resource, ResourceThread

if TYPE_CHECKING:
    from accounts.models import Viewer
    from discussions.models import Post, Thread


def mark_opening_post(reader: Viewer, thread: Thread, posts: list[Post], fresh: bool) -> None:
    """One query, on the page that shows the opening post: its ``marks["resources"]`` (produced, discussed)."""
    opening = next((post for post in posts if post.number == 1), None)
    if fresh or opening is None:
        return
    produced: list[Resource] = []
    discussed: list[Resource] = []
    for link in queries.resources_of_thread(thread):
        if policy.can_view_resource(reader, link.resource):
            (produced if link.relation == ResourceThread.Relation.PRODUCED_BY else discussed).append(link.resource)
    if produced or discussed:
        opening.marks["resources"] = (produced, discussed)
