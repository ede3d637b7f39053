"""Notifications made when the apps below announce something: posts, reactions, flags, held posts, join requests…

Each receiver runs inside the write's transaction (``discussions.signals``,
``communities.signals``, ``events.signals``): a rolled-back post notifies no
one. Only people who may see the thing are told (policy at write time, e.g.
``policy.readers_q`` for a post; the list and the emails check again at read
time), and never about a thread they muted, or a thread of a community they
muted (watching levels, discussions/models.py), except a facilitator's
decision about their own post. Recipients are chosen in a few set-based
queries, whatever the number of members: never a query per person.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Case, F, Q, When
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from communities import policy
from communities import signals as community_signals
from communities.models import Community, Membership
from discussions import queries, signals
from discussions.models import Post, Thread
from events import signals as event_signals
from events.models import Event
from notifications.email import GROUP_WINDOW
from notifications.models import Notification

Kind = Notification.Kind


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
    if thread.kind == Thread.Kind.QUESTION and not post.is_opening and post.author_id != thread.author_id:
        question_answered(sender, thread=thread)


def question_answered(sender: object, *, thread: Thread, **kwargs: Any) -> None:
    """Someone answered: the facilitators' "still waiting for an answer" is done work (read, and not emailed)."""
    if thread.opening_post_id is None:
        return
    Notification.objects.filter(post_id=thread.opening_post_id, kind=Kind.UNANSWERED, read_at__isnull=True).update(
        read_at=timezone.now()
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
    # Muted means not told of anything about the thread, an accepted answer included.
    if (
        post.author_id
        and not get_user_model().objects.filter(pk=post.author_id).filter(queries.muted_by_q(post.thread)).exists()
    ):
        _tell_author(post, actor, Notification.Kind.ACCEPTED)


def post_hidden(sender: object, *, post: Post, actor: User, **kwargs: Any) -> None:
    # Not silenced by muting: a facilitator's decision about the person's own post, with its reason.
    _tell_author(post, actor, Notification.Kind.HIDDEN)
    post_reviewed(sender, post=post, actor=actor)


def post_reviewed(sender: object, *, post: Post, **kwargs: Any) -> None:
    """Settled by one facilitator: what told the others it waited is read for them all (no count for done work)."""
    Notification.objects.filter(post=post, kind__in=[Kind.FLAGGED, Kind.HELD], read_at__isnull=True).update(
        read_at=timezone.now()
    )


def post_reacted(sender: object, *, post: Post, actor: User, **kwargs: Any) -> None:
    """Found helpful: its author is told (one row per post; the latest person to find it helpful is named)."""
    if post.author_id and post.author_id != actor.pk:
        # Muted means not told of anything about the thread, "helpful" included.
        _tell(_told(post, actor, Q(pk=post.author_id)), Kind.HELPFUL, actor, post=post)


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


def first_contribution(
    sender: object, *, community: Community, user: User, post: Post | None = None, **kwargs: Any
) -> None:
    """A member's first contribution (sent once by communities.ledger): they are thanked in the bell, and
    the buddy a facilitator paired them with is told of their first post (a thread or a reply) there.

    The unique constraints make each row once, whatever retries: (person, community, kind, actor)
    for the thanks, (person, post, kind) for the buddy.
    """
    Notification.objects.bulk_create(
        [Notification(user=user, kind=Kind.FIRST_CONTRIBUTION, actor=user, community=community)],
        ignore_conflicts=True,
    )
    if post is None:
        return
    buddy_id = (
        Membership.objects.filter(user=user, community=community, buddy__isnull=False)
        .values_list("buddy_id", flat=True)
        .first()
    )
    if buddy_id is None:
        return
    # Only a buddy who may read the post and has not muted its thread.
    for uid in _told(post, user, Q(pk=buddy_id)):
        Notification.objects.bulk_create(
            [Notification(user_id=uid, kind=Kind.BUDDY_POST, actor=user, post=post)], ignore_conflicts=True
        )


def buddy_paired(sender: object, *, community: Community, newcomer: User, buddy: User, **kwargs: Any) -> None:
    """Both are told: the newcomer who their buddy is, the buddy whom to welcome (pairing again re-arms the row)."""
    _tell([newcomer.pk], Kind.BUDDY_PAIRED, buddy, again=True, per_actor=True, community=community)
    _tell([buddy.pk], Kind.BUDDY_ASSIGNED, newcomer, again=True, per_actor=True, community=community)


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
    community_signals.buddy_paired.connect(buddy_paired, dispatch_uid="notifications-buddy-paired")
    community_signals.first_contribution.connect(first_contribution, dispatch_uid="notifications-first-contribution")
