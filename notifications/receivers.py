"""Notifications made when discussions announce a post, an accepted answer or a hidden post.

Each receiver runs inside the write's transaction (``discussions.signals``):
a rolled-back post notifies no one. Only people who may read the post are
told (``policy.readers_q`` at write time; the list and the emails check again
at read time), and never someone who muted the thread or its community
(watching levels, discussions/models.py). Recipients are chosen in a few
set-based queries, whatever the number of members: never a query per person.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.db.models.functions import Lower

from accounts.models import User
from communities import policy
from discussions import queries, signals
from discussions.models import Post
from notifications.models import Notification


def _told(post: Post, actor: User, who: Q) -> list[int]:
    """The ids of the people ``who`` picks that may read ``post``, have not muted its thread and are not ``actor``."""
    thread = post.thread
    people = get_user_model().objects.filter(who).filter(policy.readers_q(thread, post))
    return list(people.exclude(pk=actor.pk).exclude(queries.muted_by_q(thread)).values_list("pk", flat=True))


def post_published(
    sender: object,
    *,
    post: Post,
    actor: User,
    mentions: tuple[str, ...],
    reply_to: Post | None,
    new: bool = True,
    **kwargs: Any,
) -> None:
    thread = post.thread
    # One notification per person and post, the most personal kind first.
    wanted: dict[int, str] = {}
    if mentions:
        lowered = [m.lower() for m in mentions]
        named = Q(pk__in=get_user_model().objects.annotate(lower=Lower("username")).filter(lower__in=lowered))
        for pk in _told(post, actor, named):
            wanted[pk] = Notification.Kind.MENTION
    if reply_to is not None and reply_to.author_id is not None and reply_to.author_id not in wanted:
        for pk in _told(post, actor, Q(pk=reply_to.author_id)):
            wanted[pk] = Notification.Kind.REPLY
    if new:  # an edit tells the people it newly mentions, not the watchers
        if post.is_opening:
            kind, watchers = Notification.Kind.NEW_THREAD, queries.new_thread_watchers_q(thread)
        else:
            kind, watchers = Notification.Kind.WATCHING, queries.watching_q(thread)
        for pk in _told(post, actor, watchers):
            wanted.setdefault(pk, kind)
    Notification.objects.bulk_create(
        [Notification(user_id=uid, kind=kind, actor=actor, post=post) for uid, kind in wanted.items()],
        ignore_conflicts=True,
    )


def _tell_author(post: Post, actor: User, kind: str) -> None:
    if post.author_id and post.author_id != actor.pk:
        Notification.objects.get_or_create(user_id=post.author_id, post=post, kind=kind, defaults={"actor": actor})


def answer_accepted(sender: object, *, post: Post, actor: User, **kwargs: Any) -> None:
    # Muted means not told of anything about the thread, an accepted answer included.
    if (
        post.author_id
        and not get_user_model().objects.filter(pk=post.author_id).filter(queries.muted_by_q(post.thread)).exists()
    ):
        _tell_author(post, actor, Notification.Kind.ACCEPTED)


def post_hidden(sender: object, *, post: Post, actor: User, **kwargs: Any) -> None:
    # Not silenced by muting: a facilitator's decision about the person's own post, with its reason.
    _tell_author(post, actor, Notification.Kind.HIDDEN)


def connect() -> None:
    signals.post_published.connect(post_published, dispatch_uid="notifications-post-published")
    signals.answer_accepted.connect(answer_accepted, dispatch_uid="notifications-answer-accepted")
    signals.post_hidden.connect(post_hidden, dispatch_uid="notifications-post-hidden")
