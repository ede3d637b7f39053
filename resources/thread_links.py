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
    """The opening post's ``marks["resources"]`` (produced, discussed), for the reader.

    One query on every page of the thread, opening post or not, so that the first page and
    the last cost the same (tests/test_page_queries.py); none for ``fresh`` posts.
    """
    if fresh:
        return
    opening = next((post for post in posts if post.number == 1), None)
    produced: list[Resource] = []
    discussed: list[Resource] = []
    for link in queries.resources_of_thread(thread):
        if policy.can_view_resource(reader, link.resource):
            (produced if link.relation == ResourceThread.Relation.PRODUCED_BY else discussed).append(link.resource)
    if opening is not None and (produced or discussed):
        opening.marks["resources"] = (produced, discussed)
