"""What apps above discussions add to each post a page shows; they register in their AppConfig.ready().

A *marker* looks up something about the reader for a whole page of posts at
once (one query for the page, never one per post) and leaves it in each
post's ``marks`` dict; an *action* is a template drawn in every post's action
row (templates/discussions/_posts.html) that reads those marks. bookmarks
registers both: which of the posts the reader bookmarked, and the bookmark
button with its reminder.

A marker whose answer is one row of its own model per (post, reader) can
also name that row (``Joined``): the thread page's statement for a page of
posts (``discussions.queries.page_of_posts``) then reads it with the posts,
in the same query, and leaves it in ``post.joined[name]`` (None: no row), so
the marker needs no query of its own there. Posts reached another way (a
live chat's answers, a single post) have no ``joined`` and the marker looks
them up itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.db import Columns

if TYPE_CHECKING:
    from accounts.models import Viewer
    from discussions.models import Post, Thread

# (reader, thread, the page's posts already decorated, fresh) -> None; fills post.marks[...].
# ``fresh``: posts the reader sees for the first time (a reply they just sent, a live chat's
# new answers), which they cannot have marked yet: draw the controls, look nothing up.
Marker = Callable[["Viewer", "Thread", "list[Post]", bool], None]


@dataclass(frozen=True, eq=False)
class Joined:
    """At most one row of ``columns.model`` per (post, reader), read with a page's posts: ``post.joined[name]``.

    The model has a foreign key ``post`` and one to the reader, ``reader_field``,
    unique together, so the outer join never repeats a post.
    """

    name: str
    columns: Columns[Any]
    reader_field: str = "user"

    def join_sql(self, post_alias: str) -> str:
        """``LEFT JOIN`` on the post and the reader (one parameter: the reader's id, None for nobody)."""
        meta = self.columns.model._meta
        alias = self.columns.alias
        post = meta.get_field("post").column
        reader = meta.get_field(self.reader_field).column
        return f' LEFT JOIN {meta.db_table} {alias} ON {alias}."{post}" = {post_alias}.id AND {alias}."{reader}" = %s'


_markers: list[Marker] = []
_actions: list[str] = []
_joined: list[Joined] = []


def register(marker: Marker, action_template: str, joined: Joined | None = None) -> None:
    if marker not in _markers:
        _markers.append(marker)
    if action_template not in _actions:
        _actions.append(action_template)
    if joined is not None and all(j.name != joined.name for j in _joined):
        _joined.append(joined)


def joined() -> tuple[Joined, ...]:
    """The rows registered markers want read with a page of posts, in registration order."""
    return tuple(_joined)


def mark(reader: Viewer, thread: Thread, posts: list[Post], *, fresh: bool = False) -> None:
    """Give each post its ``marks`` and ``extra_actions``, then let every marker fill the marks."""
    actions = tuple(_actions)
    for post in posts:
        post.marks = {}
        post.extra_actions = actions
    if posts:
        for marker in _markers:
            marker(reader, thread, posts, fresh)
