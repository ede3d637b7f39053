"""What events reads: the calendar, one event with its answers, the feeds, a hosted chat's posts."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import User, Viewer
from communities.models import Community, Membership
from core.db import one_or_none
from discussions.models import Post, Thread
from events.models import RSVP, CalendarToken, Event, EventQuestion

UPCOMING_SHOWN = 3


def upcoming_events(community: Community) -> list[Event]:
    """The next few events of ``community`` not cancelled or over, soonest first (event_calendar_idx).

    The community page's panel, through the ORM: a written-out statement would
    save that page about a tenth of its CPU, under the 20 % that earns one.
    Community page, ORM 3.02 ms vs SQL 2.61 ms CPU per request (+16 %;
    instructions 20.2 M vs 18.3 M, +10 %); bench/cpu.py --batches 5 (quickest of
    13 runs) and bench/instructions.py, 2026-12-02.
    """
    upcoming = list(
        Event.objects.filter(community=community, ends_at__gte=timezone.now(), cancelled_at__isnull=True)
        # What the panel shows: the description and its HTML stay in the database.
        .only("community", "title", "kind", "starts_at", "ends_at", "cancelled_at")
        .order_by("starts_at")[:UPCOMING_SHOWN]
    )
    for event in upcoming:
        event.community = community
    return upcoming


def with_rsvp_counts(events: QuerySet[Event]) -> QuerySet[Event]:
    """``events`` with ``going`` and ``maybe``: how many answered so."""
    return events.annotate(
        going=Count("rsvps", filter=Q(rsvps__answer=RSVP.Answer.GOING)),
        maybe=Count("rsvps", filter=Q(rsvps__answer=RSVP.Answer.MAYBE)),
    )


CALENDAR_UPCOMING = 50
CALENDAR_PAST = 20


def calendar(community: Community, now: datetime) -> tuple[list[Event], list[Event]]:
    """The community's calendar: what is ahead (soonest first) and what is over (latest first), with answers counted."""
    events = with_rsvp_counts(Event.objects.filter(community=community).select_related("thread", "series"))
    upcoming = list(events.filter(ends_at__gte=now).order_by("starts_at")[:CALENDAR_UPCOMING])
    past = list(events.filter(ends_at__lt=now).order_by("-starts_at")[:CALENDAR_PAST])
    for event in upcoming + past:
        event.community = community
    return upcoming, past


def detailed_events() -> QuerySet[Event]:
    """Events as their page shows them (the chat thread, answers counted), for ``policy.get_event_or_404``."""
    return with_rsvp_counts(Event.objects.select_related("thread", "series"))


def answer_of(event: Event, user: Viewer) -> str | None:
    """``user``'s RSVP to ``event`` (an ``RSVP.Answer``), or None."""
    if not user.is_authenticated:
        return None
    return RSVP.objects.filter(event=event, user=user).values_list("answer", flat=True).first()


FEED_LOOKBACK = timedelta(days=90)


def _for_feed(events: QuerySet[Event]) -> QuerySet[Event]:
    """Events for a feed: the last 90 days and everything ahead."""
    return events.filter(starts_at__gte=timezone.now() - FEED_LOOKBACK).select_related("community", "series")


def community_feed(community: Community) -> QuerySet[Event]:
    return _for_feed(Event.objects.filter(community=community))


def personal_feed(user: User) -> QuerySet[Event]:
    """The events of ``user``'s own communities, among those they may see."""
    mine = Event.objects.visible_to(user).filter(
        community__memberships__user=user, community__memberships__state=Membership.State.ACTIVE
    )
    return _for_feed(mine)


def calendar_token(token: str) -> CalendarToken | None:
    """The personal calendar link ``token`` names, with its (active) owner."""
    return one_or_none(CalendarToken.objects.select_related("user").filter(token=token, user__is_active=True))


def calendar_token_of(user: User) -> CalendarToken | None:
    return one_or_none(CalendarToken.objects.filter(user=user))


# --- A hosted chat -----------------------------------------------------------------------


def event_of_chat(thread: Thread) -> Event | None:
    """The hosted chat ``thread`` is the live thread of, if any."""
    return one_or_none(Event.objects.filter(thread=thread, kind=Event.Kind.CHAT))


def event_of_thread(thread: Thread) -> Event | None:
    return Event.objects.filter(thread=thread).first()


def question_posts(thread: Thread) -> set[int]:
    """The posts of ``thread`` that are the hosted chat's questions."""
    rows = EventQuestion.objects.filter(event__thread=thread, post__isnull=False)
    return set(rows.values_list("post_id", flat=True))


def question_paths(event: Event) -> dict[str, int]:
    """The event's questions posted so far: their posts' paths and ids."""
    return dict(EventQuestion.objects.filter(event=event, post__isnull=False).values_list("post__path", "post_id"))


def is_post_of(thread: Thread, pk: int) -> bool:
    return Post.objects.filter(thread=thread, pk=pk).exists()


def posts_after(thread: Thread, after: int, limit: int) -> list[Post]:
    """Up to ``limit`` posts of ``thread`` after the post ``after``, in the order they came (post_arrival_idx)."""
    return list(
        Post.objects.filter(thread=thread, pk__gt=after)
        .select_related("author", "parent__author")
        .order_by("pk")[:limit]
    )


def has_replies_before(thread: Thread, after: int, path: str | None) -> bool:
    """Whether a reply up to the post ``after`` sits before ``path`` in tree order (anywhere, without one)."""
    before = Post.objects.filter(thread=thread, pk__lte=after, depth__gt=0)
    if path is not None:
        before = before.filter(path__lt=path)
    return before.exists()
