"""What bookmarks reads: the reader's marks on a page of posts, the Bookmarks page, one bookmark, one post."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.db.models.functions import Substr

from accounts.models import NAME_FIELDS, User, Viewer
from bookmarks.models import Bookmark
from core.db import Columns, one_or_none
from discussions import post_extras
from discussions.models import Post

EXCERPT_CHARS = 240

# The reader's bookmark of each post, read with a thread page's posts (discussions.queries.page_of_posts):
# the post's bookmark control needs no query of its own there; ``post.joined[JOINED]``.
JOINED = "bookmark"
WITH_PAGE_OF_POSTS = post_extras.Joined(JOINED, Columns(Bookmark, "bm", fields=["post", "remind_at", "reminded_at"]))


def bookmarks_among(user: User, post_ids: Iterable[int]) -> dict[int, Bookmark]:
    """``user``'s bookmarks of these posts, by post id (one look-up on the unique index for a page of posts)."""
    ids = list(post_ids)
    if not ids:
        return {}
    rows = Bookmark.objects.filter(user=user, post_id__in=ids).only("pk", "post_id", "remind_at", "reminded_at")
    return {b.post_id: b for b in rows}


def listed(user: User) -> QuerySet[Bookmark]:
    """The Bookmarks page: ``user``'s bookmarks of posts they may still read, newest first, with where each is.

    Two queries a page however many there are: Django's paginator counts, then reads one page.
    """
    person = tuple(f"post__author__{name}" for name in (*NAME_FIELDS, "is_active"))
    return (
        Bookmark.objects.shown_to(user)
        .select_related("post__thread__community", "post__author")
        .only(
            "pk",
            "post_id",
            "note",
            "created_at",
            "remind_at",
            "reminded_at",
            "post__thread_id",
            "post__author_id",
            "post__depth",
            "post__state",
            "post__created_at",
            "post__thread__title",
            "post__thread__community_id",
            "post__thread__held_at",
            "post__thread__subgroup",
            "post__thread__community__slug",
            "post__thread__community__name",
            *person,
        )
        .annotate(excerpt=Substr("post__body_text", 1, EXCERPT_CHARS))
        .order_by("-created_at", "-pk")
    )


def bookmark_of(user: User, pk: int) -> Bookmark | None:
    """``user``'s bookmark ``pk`` while its post is theirs to read; someone else's, or a vanished one: None."""
    return one_or_none(Bookmark.objects.shown_to(user).select_related("post__thread__community").filter(pk=pk))


def readable_post(user: Viewer, pk: int) -> Post | None:
    """Post ``pk`` with its thread and community, if ``user`` may read it (the policy's list definition)."""
    return one_or_none(Post.objects.readable_by(user).select_related("thread__community", "author").filter(pk=pk))
