"""What the home page and My calendar read: a member's threads across their communities, their answered
questions, upcoming events, what waits for a facilitator, and a visitor's public front page.

Everything goes through the ORM and the models' visibility querysets (``Thread.objects.visible_to``,
``Event.objects.visible_to``, ``policy.visible_communities``); who may see what is decided in
``communities/policy.py`` alone.

Two seams, each one function, so other parts of the product can change what they answer without
touching the lists:

* ``read_marks(user)``: the member's read state, per thread. It answers today from
  ``ReadState.last_read_at`` (one time per thread); per-post read positions plug in here, and only here.
* ``member_threads(..., muted=...)``: every thread list and count of the member home takes ``muted``, a
  filter on Thread's fields naming what the member muted (a thread, or every thread of a community);
  those threads are left out of the tabs, their counts and the answered questions. The home view
  passes it (``discovery.home.muted_threads``); until watching levels exist it is None and nothing is
  left out.

Budget: the member home is at most eight queries whatever the number of communities and threads
(tests/test_home.py): session, user, ``member_summary``, one page of ``member_threads``,
``answered_questions``, ``upcoming_events`` and the bell's two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    Case,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from accounts.models import NAME_FIELDS, User
from communities import policy
from communities.models import Community, Membership
from discussions.models import Flag, Post, ReadState, Thread
from events.models import RSVP, CalendarToken, Event

# A thread a member never opened is "new" while it is younger than this (and younger than their membership).
NEW_DAYS = 14
# A member's answered question stays on their home this long after the thread's last activity.
ANSWERED_DAYS = 30
QUESTIONS_SHOWN = 5
HOME_EVENTS = 5
# The tabs count at most this many threads ("999+"), so a count costs the same with 20 k or 200 k posts.
COUNT_CAP = 1000


class Tab:
    LATEST = "latest"
    UNREAD = "unread"
    NEW = "new"


TABS = (Tab.LATEST, Tab.UNREAD, Tab.NEW)

# What a row of the home's thread list shows: not the search vector or the tag names.
ROW_FIELDS = (
    "community",
    "title",
    "kind",
    "author",
    "created_at",
    "reply_count",
    "last_activity_at",
    "locked_at",
    "held_at",
    "accepted_answer",
    *(f"last_poster__{name}" for name in NAME_FIELDS),
)


class CappedCount(Subquery):
    """``(SELECT COUNT(*) FROM (<rows> LIMIT COUNT_CAP))``: a count that stops at COUNT_CAP, as a scalar subquery.

    Uncorrelated, so the database runs it once per statement; it reads at most COUNT_CAP rows of
    ``rows`` whatever the size of the forum. Django's ``Subquery`` with a template of its own.
    """

    template = "(SELECT COUNT(*) FROM (%(subquery)s) capped)"
    output_field = IntegerField()

    def __init__(self, rows: QuerySet[Thread] | QuerySet[ReadState]) -> None:
        super().__init__(rows.order_by().values("pk")[:COUNT_CAP])


def _count(rows: QuerySet[Post] | QuerySet[Membership], template: str = "COUNT(%(expressions)s)") -> Subquery:
    """The number of ``rows``, as a correlated scalar subquery (a COUNT Django does not take for an aggregate)."""
    count = rows.order_by().annotate(n=Func(F("pk"), function="COUNT", template=template)).values("n")
    return Subquery(count, output_field=IntegerField())


# --- The member's read state: the one seam -------------------------------------------------


@dataclass(frozen=True)
class ReadMarks:
    """How the home asks about a member's reading.

    On a Thread queryset: ``annotate(threads)`` adds ``last_read`` (None: never opened) and
    ``unread_count`` (posts others wrote that everyone may read, newer than the marker; 0 for a
    thread never opened); ``unopened`` selects threads the member never opened. ``behind``: the
    member's markers of threads with such posts (the Unread tab), a ReadState queryset; ``unread``
    selects those threads on a Thread queryset.
    """

    last_read: Subquery
    unread_posts: QuerySet[Post]
    behind: QuerySet[ReadState]
    unopened: Q

    @property
    def unread(self) -> Q:
        return Q(pk__in=self.behind.values("thread_id"))

    def annotate(self, threads: QuerySet[Thread]) -> QuerySet[Thread]:
        return threads.annotate(last_read=self.last_read).annotate(
            unread_count=Coalesce(_count(self.unread_posts), Value(0))
        )


def read_marks(user: User) -> ReadMarks:
    """The member's read state as the home reads it: today ``ReadState.last_read_at``, one time per thread.

    A post is unread when it came after the marker, someone else wrote it and everyone may read it
    (not held, hidden or deleted); post_thread_time_idx finds them from the marker's time. Unread
    threads are found from the member's own markers (as many as the threads they opened, whatever
    the forum's size). Per-post positions (a post number per thread) replace the body of this
    function and nothing else.
    """
    markers = ReadState.objects.filter(user=user)
    marker = markers.filter(thread=OuterRef("pk"))  # one_read_state: one probe per thread
    by_others = Post.objects.filter(state=Post.State.VISIBLE).exclude(author=user)
    after_marker = by_others.filter(thread=OuterRef("thread"), created_at__gt=OuterRef("last_read_at"))
    return ReadMarks(
        last_read=Subquery(marker.values("last_read_at")[:1]),
        unread_posts=by_others.filter(thread=OuterRef("pk"), created_at__gt=OuterRef("last_read")),
        # The thread active since the marker (its row answers), then a post that counts.
        behind=markers.filter(thread__last_activity_at__gt=F("last_read_at")).filter(Exists(after_marker)),
        unopened=~Q(Exists(marker)),
    )


# --- The member home ------------------------------------------------------------------------


def _communities_of(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user, state=Membership.State.ACTIVE)


def _tab(
    user: User,
    tab: str,
    now: datetime,
    marks: ReadMarks,
    muted: Q | None,
    memberships: list[Membership] | None = None,
) -> QuerySet[Thread]:
    """A tab's threads (``Thread.objects.of_member``, less what the member muted); ``memberships`` if already read."""
    threads = Thread.objects.of_member(user, memberships=memberships)
    if muted is not None:
        threads = threads.exclude(muted)
    if tab == Tab.UNREAD:
        return threads.filter(marks.unread)
    if tab == Tab.NEW:
        since = now - timedelta(days=NEW_DAYS)
        mine = _communities_of(user)
        joined_later = mine.filter(community=OuterRef("community"), joined_at__gt=OuterRef("created_at"))
        # A thread's last activity is never before it began: the bound lets thread_activity_idx stop early.
        return (
            threads.filter(created_at__gt=since, last_activity_at__gt=since)
            .filter(marks.unopened)
            .exclude(author=user)
            .exclude(Exists(joined_later))
        )
    return threads


def _unread_markers(user: User, marks: ReadMarks, muted: Q | None) -> QuerySet[ReadState]:
    """The Unread tab's threads as the member's markers, for counting from the member's side."""
    behind = marks.behind.filter(policy.member_threads_q(user, prefix="thread__"))
    if muted is not None:
        behind = behind.exclude(thread__in=Thread.objects.filter(muted).values("pk"))
    return behind


@dataclass
class Waiting:
    """What waits for a facilitator in one community."""

    community: Community
    requests: int
    flags: int
    held: int

    @property
    def total(self) -> int:
        return self.requests + self.flags + self.held


@dataclass
class MemberSummary:
    memberships: list[Membership]
    communities: dict[int, Community]
    latest: int = 0
    unread: int = 0
    new: int = 0
    waiting: list[Waiting] = field(default_factory=list)

    @property
    def joined_at(self) -> dict[int, datetime | None]:
        return {m.community_id: m.joined_at for m in self.memberships}


def _for_facilitators(expression: Subquery) -> Case:
    """Counted only on a facilitator's rows: the database evaluates a CASE branch's subquery only when it is taken."""
    roles = [Membership.Role.FACILITATOR, Membership.Role.OWNER]
    return Case(When(role__in=roles, then=expression), default=Value(0), output_field=IntegerField())


def member_summary(user: User, now: datetime, muted: Q | None = None) -> MemberSummary:
    """The member's communities (by name) and, in the same query, the tabs' counts and the facilitators' queues.

    Each membership row carries the counts of the three tabs (uncorrelated subqueries: computed
    once, each capped at COUNT_CAP) and, on a facilitator's rows, the community's join requests,
    flagged posts (by post, as the dashboard lists them) and posts held for review.
    """
    marks = read_marks(user)
    community = OuterRef("community")
    pending = Membership.objects.filter(community=community, state=Membership.State.PENDING)
    flagged = Post.objects.filter(
        thread__community=community, pk__in=Flag.objects.filter(resolved_at__isnull=True).values("post_id")
    )
    held = Post.objects.filter(thread__community=community, state=Post.State.HELD)
    rows = (
        _communities_of(user)
        .select_related("community")
        .only(
            "user",
            "community",
            "role",
            "state",
            "joined_at",
            "community__name",
            "community__slug",
            "community__visibility",
        )
        .annotate(
            tab_latest=CappedCount(_tab(user, Tab.LATEST, now, marks, muted)),
            tab_unread=CappedCount(_unread_markers(user, marks, muted)),
            tab_new=CappedCount(_tab(user, Tab.NEW, now, marks, muted)),
            waiting_requests=_for_facilitators(_count(pending)),
            waiting_flags=_for_facilitators(_count(flagged)),
            waiting_held=_for_facilitators(_count(held)),
        )
        .order_by("community__name")
    )
    memberships = list(rows)
    summary = MemberSummary(memberships=memberships, communities={m.community_id: m.community for m in memberships})
    if memberships:
        first = memberships[0]
        summary.latest, summary.unread, summary.new = first.tab_latest, first.tab_unread, first.tab_new  # type: ignore[attr-defined]  # annotations
    for m in memberships:
        waiting = Waiting(m.community, m.waiting_requests, m.waiting_flags, m.waiting_held)  # type: ignore[attr-defined]  # annotations
        if m.is_facilitator and waiting.total:
            summary.waiting.append(waiting)
    return summary


def member_threads(
    user: User,
    tab: str,
    *,
    now: datetime,
    offset: int,
    limit: int,
    summary: MemberSummary,
    muted: Q | None = None,
) -> list[Thread]:
    """One page of a tab (``Tab``), most recently active first: ``limit`` rows from ``offset``.

    Each thread has ``community`` (the summary's), ``last_poster`` (names only), ``last_read`` and
    ``unread_count`` (``read_marks``). The member's communities come from the summary's
    memberships, named in the statement rather than looked up again.
    """
    marks = read_marks(user)
    rows = (
        marks.annotate(_tab(user, tab, now, marks, muted, memberships=summary.memberships))
        .select_related("last_poster")
        .only(*ROW_FIELDS)
        .order_by("-last_activity_at", "-pk")[offset : offset + limit]
    )
    threads = list(rows)
    for thread in threads:
        thread.community = summary.communities[thread.community_id]
    return threads


def answered_questions(user: User, now: datetime, muted: Q | None = None) -> list[Thread]:
    """The member's own questions active lately that got answers: replies they haven't read, or an accepted answer.

    Newest activity first, at most QUESTIONS_SHOWN, with ``community``, ``last_read`` and
    ``unread_count``. Read through thread_author_idx: bounded by how many questions the member asked.
    """
    marks = read_marks(user)
    threads = Thread.objects.visible_to(user).filter(author=user, kind=Thread.Kind.QUESTION, reply_count__gt=0)
    if muted is not None:
        threads = threads.exclude(muted)
    # Answers are news for a while: the bound keeps the read to the member's recently active questions,
    # each looked at on its own (its unread count), not the member's whole read state.
    recent = threads.filter(last_activity_at__gte=now - timedelta(days=ANSWERED_DAYS))
    rows = (
        marks.annotate(recent)
        .filter(Q(unread_count__gt=0) | Q(accepted_answer__isnull=False))
        .select_related("community", "last_poster")
        .only(*ROW_FIELDS, "community__name", "community__slug")
        .order_by("-last_activity_at", "-pk")[:QUESTIONS_SHOWN]
    )
    return list(rows)


def _my_events(user: User) -> QuerySet[Event]:
    """Events the member may see in the communities they belong to, with ``my_answer`` (their RSVP, or None)."""
    answer = RSVP.objects.filter(event=OuterRef("pk"), user=user).values("answer")[:1]
    return (
        Event.objects.visible_to(user)
        .filter(community__in=_communities_of(user).values("community_id"))
        .annotate(my_answer=Subquery(answer))
        .select_related("community")
        .only(
            "community",
            "title",
            "kind",
            "starts_at",
            "ends_at",
            "time_zone",
            "cancelled_at",
            "community__name",
            "community__slug",
        )
    )


def upcoming_events(user: User, now: datetime, shown: int = HOME_EVENTS) -> list[Event]:
    """The next few events of the member's communities that are not over or cancelled, soonest first."""
    rows = _my_events(user).filter(ends_at__gte=now, cancelled_at__isnull=True).order_by("starts_at", "pk")
    return list(rows[:shown])


def calendar_events(user: User, now: datetime) -> QuerySet[Event]:
    """My calendar: every event of the member's communities not over yet, soonest first (cancelled ones marked).

    event_upcoming_idx finds the events not over (few, whatever the history); paginate the result.
    """
    return _my_events(user).filter(ends_at__gte=now).order_by("starts_at", "pk")


def calendar_token_of(user: User) -> CalendarToken | None:
    return CalendarToken.objects.filter(user=user).only("token").first()


# --- A visitor's home -----------------------------------------------------------------------------

PUBLIC_COMMUNITIES_SHOWN = 6
PUBLIC_THREADS_SHOWN = 10


def public_communities(shown: int = PUBLIC_COMMUNITIES_SHOWN) -> list[Community]:
    """The liveliest communities an anonymous visitor may read (community_dir_idx)."""
    rows = policy.visible_communities(AnonymousUser()).only(
        "name", "slug", "domain", "member_count", "last_activity_at", "visibility"
    )
    return list(rows.order_by(F("last_activity_at").desc(nulls_last=True), "name")[:shown])


def public_activity(shown: int = PUBLIC_THREADS_SHOWN) -> list[Thread]:
    """The public threads with the latest activity, as an anonymous visitor may see them (thread_activity_idx)."""
    rows = (
        Thread.objects.visible_to(AnonymousUser())
        .select_related("community", "last_poster")
        .only(*ROW_FIELDS, "community__name", "community__slug", "community__visibility")
        .order_by("-last_activity_at", "-pk")
    )
    return list(rows[:shown])
