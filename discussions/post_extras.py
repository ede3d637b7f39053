"""What apps above discussions add to each post a page shows; they register in their AppConfig.ready().

A *marker* looks up something about the reader for a whole page of posts at
once (one query for the page, never one per post) and leaves it in each
post's ``marks`` dict; an *action* is a template drawn in every post's action
row (templates/discussions/_posts.html) that reads those marks. bookmarks
registers both: which of the posts the reader bookmarked, and the bookmark
button with its reminder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import Viewer
    from discussions.models import Post, Thread

# (reader, thread, the page's posts already decorated, fresh) -> None; fills post.marks[...].
# ``fresh``: posts the reader sees for the first time (a reply they just sent, a live chat's
# new answers), which they cannot have marked yet: draw the controls, look nothing up.
Marker = Callable[["Viewer", "Thread", "list[Post]", bool], None]

_markers: list[Marker] = []
_actions: list[str] = []


def register(marker: Marker, action_template: str) -> None:
    if marker not in _markers:
        _markers.append(marker)
    if action_template not in _actions:
        _actions.append(action_template)


def mark(reader: Viewer, thread: Thread, posts: list[Post], *, fresh: bool = False) -> None:
    """Give each post its ``marks`` and ``extra_actions``, then let every marker fill the marks."""
    actions = tuple(_actions)
    for post in posts:
        post.marks = {}
        post.extra_actions = actions
    if posts:
        for marker in _markers:
            marker(reader, thread, posts, fresh)
