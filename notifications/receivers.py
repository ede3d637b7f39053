"""Notifications made when discussions announce a post, an accepted answer or a hidden post.

Each receiver runs inside the write's transaction (``discussions.signals``):
a rolled-back post notifies no one. Only people who may see the thread are
told (policy at write time; the list and the emails check again at read time).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.functions import Lower

from accounts.models import User
from communities import policy
from discussions import signals
from discussions.models import Post
from notifications.models import Notification


def post_published(
    sender: object, *, post: Post, actor: User, mentions: tuple[str, ...], reply_to: Post | None, **kwargs: Any
) -> None:
    thread = post.thread
    wanted: dict[int, str] = {}
    if mentions:
        lowered = [m.lower() for m in mentions]
        people = get_user_model().objects.annotate(lower=Lower("username")).filter(lower__in=lowered, is_active=True)
        for user in people:
            if user.pk != actor.pk and policy.can_view_thread(user, thread):
                wanted[user.pk] = Notification.Kind.MENTION
    replied_to = reply_to.author if reply_to is not None else None
    if (
        replied_to is not None
        and replied_to.pk != actor.pk
        and replied_to.pk not in wanted
        and replied_to.is_active
        and policy.can_view_thread(replied_to, thread)
    ):
        wanted[replied_to.pk] = Notification.Kind.REPLY
    Notification.objects.bulk_create(
        [Notification(user_id=uid, kind=kind, actor=actor, post=post) for uid, kind in wanted.items()],
        ignore_conflicts=True,
    )


def _tell_author(post: Post, actor: User, kind: str) -> None:
    if post.author_id and post.author_id != actor.pk:
        Notification.objects.get_or_create(user_id=post.author_id, post=post, kind=kind, defaults={"actor": actor})


def answer_accepted(sender: object, *, post: Post, actor: User, **kwargs: Any) -> None:
    _tell_author(post, actor, Notification.Kind.ACCEPTED)


def post_hidden(sender: object, *, post: Post, actor: User, **kwargs: Any) -> None:
    _tell_author(post, actor, Notification.Kind.HIDDEN)


def connect() -> None:
    signals.post_published.connect(post_published, dispatch_uid="notifications-post-published")
    signals.answer_accepted.connect(answer_accepted, dispatch_uid="notifications-answer-accepted")
    signals.post_hidden.connect(post_hidden, dispatch_uid="notifications-post-hidden")
