"""Notifications made when the apps below announce something: posts, reactions, flags, held posts, join requests…

Each receiver runs inside the write's transaction (``discussions.signals``,
``communities.signals``, ``events.signals``): a rolled-back post notifies no
one. Only people who may see the thing are told (policy at write time; the
list and the emails check again at read time).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Case, F, When
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from communities import policy
from communities import signals as community_signals
from communities.models import Community
from discussions import signals
from discussions.models import Post
from events import signals as event_signals
from events.models import Event
from notifications.email import GROUP_WINDOW
from notifications.models import Notification

Kind = Notification.Kind


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
                wanted[user.pk] = Kind.MENTION
    replied_to = reply_to.author if reply_to is not None else None
    if (
        replied_to is not None
        and replied_to.pk != actor.pk
        and replied_to.pk not in wanted
        and replied_to.is_active
        and policy.can_view_thread(replied_to, thread)
    ):
        wanted[replied_to.pk] = Kind.REPLY
    Notification.objects.bulk_create(
        [Notification(user_id=uid, kind=kind, actor=actor, post=post) for uid, kind in wanted.items()],
        ignore_conflicts=True,
    )


def _tell(
    user_ids: Iterable[int],
    kind: str,
    actor: User | None,
    *,
    again: bool = False,
    per_actor: bool = False,
    **target: Any,
) -> None:
    """One row per person, kind and target (the unique constraints); news again when it happens again.

    A row that exists already is made news again (unread, newest, with the new
    actor) when someone else does it (a second "helpful", a second flag), or
    the same person anew when ``again`` (asking to join again, a post held
    again). ``per_actor``: each actor has a row of their own (join requests,
    one per person asking). Its email waits for the sweep unless one went out
    within the hour (at most one an hour per conversation: the bell still shows it).
    """
    user_ids = list(user_ids)
    if not user_ids:
        return
    now = timezone.now()
    existing = Notification.objects.filter(user_id__in=user_ids, kind=kind, **target)
    if per_actor:
        existing = existing.filter(actor=actor)
    elif actor is not None and not again:
        existing = existing.exclude(actor=actor)
    existing.update(
        actor=actor,
        created_at=now,
        read_at=None,
        emailed_at=Case(When(emailed_at__gte=now - GROUP_WINDOW, then=F("emailed_at")), default=None),
    )
    Notification.objects.bulk_create(
        [Notification(user_id=uid, kind=kind, actor=actor, created_at=now, **target) for uid in user_ids],
        ignore_conflicts=True,
    )


def _tell_author(post: Post, actor: User, kind: str) -> None:
    if post.author_id and post.author_id != actor.pk:
        Notification.objects.get_or_create(user_id=post.author_id, post=post, kind=kind, defaults={"actor": actor})


def answer_accepted(sender: object, *, post: Post, actor: User, **kwargs: Any) -> None:
    _tell_author(post, actor, Kind.ACCEPTED)


def post_hidden(sender: object, *, post: Post, actor: User, **kwargs: Any) -> None:
    _tell_author(post, actor, Kind.HIDDEN)
    post_reviewed(sender, post=post, actor=actor)


def post_reviewed(sender: object, *, post: Post, **kwargs: Any) -> None:
    """Settled by one facilitator: what told the others it waited is read for them all (no count for done work)."""
    Notification.objects.filter(post=post, kind__in=[Kind.FLAGGED, Kind.HELD], read_at__isnull=True).update(
        read_at=timezone.now()
    )


def post_reacted(sender: object, *, post: Post, actor: User, **kwargs: Any) -> None:
    """Found helpful: its author is told (one row per post; the latest person to find it helpful is named)."""
    author = post.author_id
    if author and author != actor.pk and policy.can_view_thread(_person(author), post.thread):
        _tell([author], Kind.HELPFUL, actor, post=post)


def _facilitators(community: Community, *, besides: Iterable[int | None]) -> list[int]:
    left_out = set(besides)
    return [uid for uid in policy.moderator_ids(community) if uid not in left_out]


def post_flagged(sender: object, *, post: Post, actor: User, **kwargs: Any) -> None:
    """A flag: every facilitator of the community but the one who flagged it and the post's author (others judge it)."""
    _tell(_facilitators(post.thread.community, besides=(actor.pk, post.author_id)), Kind.FLAGGED, actor, post=post)


def post_held(sender: object, *, post: Post, **kwargs: Any) -> None:
    """A post waits for review: every facilitator of the community is told (facilitators are never held)."""
    author = post.author if post.author_id else None
    recipients = _facilitators(post.thread.community, besides=(post.author_id,))
    _tell(recipients, Kind.HELD, author, again=True, post=post)


def join_requested(sender: object, *, community: Community, user: User, **kwargs: Any) -> None:
    """Someone asks to join: the community's facilitators decide, so they are told."""
    _tell(
        _facilitators(community, besides=(user.pk,)),
        Kind.JOIN_REQUEST,
        user,
        again=True,
        per_actor=True,
        community=community,
    )


def join_request_settled(sender: object, *, community: Community, user: User, **kwargs: Any) -> None:
    """Approved, declined or withdrawn: the request no longer waits for any facilitator."""
    Notification.objects.filter(community=community, actor=user, kind=Kind.JOIN_REQUEST, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def reminder_due(sender: object, *, event: Event, user: User, **kwargs: Any) -> None:
    """An event the person is going to starts within the hour (events checked they may see it)."""
    Notification.objects.bulk_create(
        [Notification(user=user, kind=Kind.EVENT_REMINDER, event=event)], ignore_conflicts=True
    )


def _person(user_id: int) -> User:
    return User.objects.get(pk=user_id)


def connect() -> None:
    signals.post_published.connect(post_published, dispatch_uid="notifications-post-published")
    signals.answer_accepted.connect(answer_accepted, dispatch_uid="notifications-answer-accepted")
    signals.post_hidden.connect(post_hidden, dispatch_uid="notifications-post-hidden")
    signals.post_reacted.connect(post_reacted, dispatch_uid="notifications-post-reacted")
    signals.post_flagged.connect(post_flagged, dispatch_uid="notifications-post-flagged")
    signals.post_held.connect(post_held, dispatch_uid="notifications-post-held")
    signals.post_reviewed.connect(post_reviewed, dispatch_uid="notifications-post-reviewed")
    community_signals.join_requested.connect(join_requested, dispatch_uid="notifications-join-requested")
    community_signals.join_request_settled.connect(
        join_request_settled, dispatch_uid="notifications-join-request-settled"
    )
    event_signals.reminder_due.connect(reminder_due, dispatch_uid="notifications-reminder-due")
