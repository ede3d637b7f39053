"""The reads of the health page and the site overview: aggregates in the database, a fixed number of queries.

Every figure is counted by PostgreSQL (or SQLite) from the rows that hold it;
Python only sorts the handful of rows that come back (a community's newcomers
in the range, its events, its snapshots), never walks its members.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Exists,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from communities.ledger import CONTRIBUTION_KINDS
from communities.models import Activity, Community, LevelSnapshot, Membership
from communities.participation import LEVELS
from discussions.models import Post, Thread
from events.models import RSVP, Event
from insights.models import LevelChange
from resources.models import Resource, ResourceReview

Level = Membership.Level
ENGAGED = (Level.CORE.value, Level.ACTIVE.value)
RANK = {level: i for i, level in enumerate(reversed(LEVELS))}  # inactive 0 … core 3
UNANSWERED_SHOWN = 20
EVENTS_SHOWN = 200
MOVES_SHOWN = 200  # the CSV; the page lists the first MOVES_LISTED
MOVES_LISTED = 50
NEWCOMERS_SHOWN = 25


def count_of(queryset: QuerySet[Any]) -> Coalesce:
    """``SELECT COUNT(*) FROM (queryset)`` as a scalar subquery (COUNT as a plain function: no GROUP BY)."""
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def quarter_bounds(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """First and last day of ``day``'s calendar quarter."""
    first = datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    last = next_month(next_month(next_month(first))) - datetime.timedelta(days=1)
    return first, last


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Newcomer:
    thread_id: int
    title: str
    author: str
    started_at: datetime.datetime
    first_reply_at: datetime.datetime | None

    @property
    def hours(self) -> float | None:
        if self.first_reply_at is None:
            return None
        return (self.first_reply_at - self.started_at).total_seconds() / 3600


@dataclass
class Move:
    name: str
    username: str
    old: str
    new: str
    at: datetime.datetime

    @property
    def up(self) -> bool:
        return RANK[self.new] > RANK[self.old]


@dataclass
class EventRow:
    pk: int
    title: str
    starts_at: datetime.datetime
    kind: str
    going: int
    chatted: int


@dataclass
class Health:
    community: Community
    start: datetime.date
    end: datetime.date
    today: datetime.date
    snapshots: list[dict[str, Any]]
    moves: list[Move]
    month: datetime.date
    newcomers: list[Newcomer]
    figures: dict[str, int]
    unanswered: list[dict[str, Any]]
    events: list[EventRow]
    quarter: tuple[datetime.date, datetime.date] = field(default=(datetime.date.min, datetime.date.min))

    @property
    def reply_hours(self) -> list[float]:
        return [n.hours for n in self.newcomers if n.hours is not None]

    @property
    def median_hours(self) -> float | None:
        return percentile(self.reply_hours, 0.5)

    @property
    def p90_hours(self) -> float | None:
        return percentile(self.reply_hours, 0.9)

    @property
    def newcomers_waiting(self) -> int:
        return sum(1 for n in self.newcomers if n.first_reply_at is None)

    @property
    def outside_core_share(self) -> float | None:
        total = self.figures["replies"]
        return None if not total else (total - self.figures["core_replies"]) / total

    @property
    def overdue_share(self) -> float | None:
        total = self.figures["resources"]
        return None if not total else self.figures["overdue"] / total

    @property
    def slowest_newcomers(self) -> list[Newcomer]:
        """The page's list: those still waiting (longest first), then the longest waits; the CSV has everyone."""
        waiting = sorted((n for n in self.newcomers if n.first_reply_at is None), key=lambda n: n.started_at)
        answered = sorted((n for n in self.newcomers if n.hours is not None), key=lambda n: -(n.hours or 0))
        return (waiting + answered)[:NEWCOMERS_SHOWN]

    @property
    def moved_up(self) -> list[Move]:
        return [m for m in self.moves if m.up]

    @property
    def moved_down(self) -> list[Move]:
        return [m for m in self.moves if not m.up]

    @property
    def event_months(self) -> list[dict[str, Any]]:
        """Events held, RSVPs "going" and people who wrote in the chat, per month of the range."""
        months: list[dict[str, Any]] = []
        cursor = month_start(self.start)
        while cursor <= self.end:
            months.append({"month": cursor, "events": 0, "going": 0, "chatted": 0})
            cursor = next_month(cursor)
        index = {row["month"]: row for row in months}
        for event in self.events:
            row = index.get(month_start(event.starts_at.astimezone(datetime.UTC).date()))
            if row is not None:
                row["events"] += 1
                row["going"] += event.going
                row["chatted"] += event.chatted
        return months


FIGURES = (
    "f_replies",
    "f_core_replies",
    "f_level_peripheral",
    "f_peripheral_contributed",
    "f_unanswered",
    "f_resources",
    "f_dated",
    "f_overdue",
)


def _figures(community: Community, start: datetime.date, end: datetime.date, today: datetime.date) -> dict[str, int]:
    """Every single-number figure of the page in one query: a row of scalar subqueries."""
    since, until = day_start(start), day_start(end + datetime.timedelta(days=1))
    q_first, q_last = quarter_bounds(end)
    pk = community.pk
    replies = Post.objects.filter(
        thread__community_id=pk,
        thread__held_at__isnull=True,
        number__gt=1,
        state=Post.State.VISIBLE,
        created_at__gte=since,
        created_at__lt=until,
    ).exclude(thread__kind=Thread.Kind.CHAT)
    # Answers: replies to someone else's thread (an author's own follow-up answers nobody).
    replies = replies.exclude(author_id=F("thread__author_id"))
    core_now = Membership.objects.filter(
        community_id=pk, user_id=OuterRef("author_id"), state=Membership.State.ACTIVE, level=Level.CORE
    )
    members = Membership.objects.filter(community_id=pk, state=Membership.State.ACTIVE)
    contributed = Activity.objects.filter(
        community_id=pk, user_id=OuterRef("user_id"), kind__in=CONTRIBUTION_KINDS, day__gte=q_first, day__lte=q_last
    )
    repertoire = (
        Resource.objects.listed()
        .filter(community_id=pk)
        .exclude(status__in=(Resource.Status.SUPERSEDED, Resource.Status.DRAFT))
    )
    row = (
        Community.objects.filter(pk=pk)
        .annotate(
            **{
                "f_replies": count_of(replies),
                "f_core_replies": count_of(replies.filter(Exists(core_now))),
                "f_level_peripheral": count_of(members.filter(level=Level.PERIPHERAL)),
                "f_peripheral_contributed": count_of(members.filter(Exists(contributed), level=Level.PERIPHERAL)),
                "f_unanswered": count_of(
                    Thread.objects.filter(
                        community_id=pk,
                        kind=Thread.Kind.QUESTION,
                        held_at__isnull=True,
                        reply_count=0,
                        created_at__gte=since,
                        created_at__lt=until,
                    )
                ),
                "f_resources": count_of(repertoire),
                "f_dated": count_of(repertoire.filter(review_by__isnull=False)),
                "f_overdue": count_of(repertoire.filter(review_by__lt=today)),
            }
        )
        .values(*FIGURES)
    )
    # Prefixed names: several figures share a name with a reverse relation of Community.
    return {name.removeprefix("f_"): value for name, value in row.get().items()}


def _newcomers(community: Community, since: datetime.datetime, until: datetime.datetime) -> list[Newcomer]:
    """Each member's first thread in the community started in the range, with its first reply by someone else.

    Hosted chats are left out (they are the host's, not a newcomer's question).
    """
    earlier = Thread.objects.filter(
        community_id=community.pk, author_id=OuterRef("author_id"), created_at__lt=OuterRef("created_at")
    )
    first_reply = (
        Post.objects.filter(thread_id=OuterRef("pk"), number__gt=1, state=Post.State.VISIBLE)
        .exclude(author_id=OuterRef("author_id"))
        # Numbers follow the order posts were written: the (thread, number) index gives the first at once.
        .order_by("number")
        .values("created_at")[:1]
    )
    rows = (
        Thread.objects.filter(
            community_id=community.pk,
            author__isnull=False,
            held_at__isnull=True,
            created_at__gte=since,
            created_at__lt=until,
        )
        .exclude(kind=Thread.Kind.CHAT)
        .filter(~Exists(earlier))
        .annotate(first_reply_at=Subquery(first_reply))
        .order_by("created_at", "pk")
        .values_list("pk", "title", "author__display_name", "author__username", "created_at", "first_reply_at")
    )
    return [Newcomer(pk, title, shown or username, at, reply) for pk, title, shown, username, at, reply in rows]


def _moves(community: Community, month: datetime.date) -> list[Move]:
    rows = (
        LevelChange.objects.filter(
            Q(old_level__in=ENGAGED) | Q(new_level__in=ENGAGED),
            community_id=community.pk,
            changed_at__gte=day_start(month),
            changed_at__lt=day_start(next_month(month)),
        )
        .order_by("-changed_at", "-pk")
        .values_list("user__display_name", "user__username", "old_level", "new_level", "changed_at")[:MOVES_SHOWN]
    )
    return [Move(shown or username, username, old, new, at) for shown, username, old, new, at in rows]


def _events(community: Community, since: datetime.datetime, until: datetime.datetime) -> list[EventRow]:
    going = RSVP.objects.filter(event_id=OuterRef("pk"), answer=RSVP.Answer.GOING)
    wrote = (
        Post.objects.filter(thread_id=OuterRef("thread_id"), state=Post.State.VISIBLE)
        .order_by()
        .annotate(n=Func(F("author_id"), function="COUNT", distinct=True, template="COUNT(DISTINCT %(expressions)s)"))
        .values("n")
    )
    rows = (
        Event.objects.filter(
            community_id=community.pk, cancelled_at__isnull=True, starts_at__gte=since, starts_at__lt=until
        )
        .annotate(going=count_of(going), chatted=Coalesce(Subquery(wrote, output_field=IntegerField()), Value(0)))
        .order_by("starts_at", "pk")
        .values_list("pk", "title", "starts_at", "kind", "going", "chatted")[:EVENTS_SHOWN]
    )
    return [EventRow(*row) for row in rows]


def community_health(community: Community, start: datetime.date, end: datetime.date, today: datetime.date) -> Health:
    """The health page's data: six queries whatever the number of members."""
    since, until = day_start(start), day_start(end + datetime.timedelta(days=1))
    snapshots = list(
        LevelSnapshot.objects.filter(community_id=community.pk, week__gte=start, week__lte=end)
        .order_by("week")
        .values("week", *LEVELS)
    )
    month = month_start(end)
    unanswered = list(
        Thread.objects.filter(
            community_id=community.pk,
            kind=Thread.Kind.QUESTION,
            held_at__isnull=True,
            reply_count=0,
            created_at__gte=since,
            created_at__lt=until,
        )
        .order_by("created_at", "pk")
        .values("pk", "title", "created_at")[:UNANSWERED_SHOWN]
    )
    return Health(
        community=community,
        start=start,
        end=end,
        today=today,
        snapshots=snapshots,
        moves=_moves(community, month),
        month=month,
        newcomers=_newcomers(community, since, until),
        figures=_figures(community, start, end, today),
        unanswered=[dict(row) for row in unanswered],
        events=_events(community, since, until),
        quarter=quarter_bounds(end),
    )


# --- Site overview ------------------------------------------------------------------

OVERVIEW_SORTS = {
    "name": "name",
    "members": "f_members",
    "active": "f_active_month",
    "unanswered": "f_unanswered",
    "overdue": "f_overdue",
    "last_activity": "last_activity_at",
}
OVERVIEW_FIGURES = (
    "f_members",
    *(f"f_level_{level}" for level in LEVELS),
    "f_active_month",
    "f_unanswered",
    "f_resources",
    "f_overdue",
)


def site_overview(today: datetime.date, sort: str = "name", descending: bool = False) -> list[dict[str, Any]]:
    """One row per community, every figure a scalar subquery: one query for any number of communities."""
    month_first = month_start(today)
    members = Membership.objects.filter(community_id=OuterRef("pk"), state=Membership.State.ACTIVE)
    repertoire = (
        Resource.objects.listed()
        .filter(community_id=OuterRef("pk"))
        .exclude(status__in=(Resource.Status.SUPERSEDED, Resource.Status.DRAFT))
    )
    active_month = (
        Activity.objects.filter(community_id=OuterRef("pk"), day__gte=month_first, day__lte=today)
        .order_by()
        .annotate(n=Func(F("user_id"), function="COUNT", template="COUNT(DISTINCT %(expressions)s)"))
        .values("n")
    )
    order = OVERVIEW_SORTS.get(sort, "name")
    ordering = F(order).desc(nulls_last=True) if descending else F(order).asc(nulls_last=True)
    rows = (
        Community.objects.annotate(
            **{
                "f_members": count_of(members),
                **{f"f_level_{level}": count_of(members.filter(level=level)) for level in LEVELS},
                "f_active_month": Coalesce(Subquery(active_month, output_field=IntegerField()), Value(0)),
                "f_unanswered": count_of(
                    Thread.objects.filter(
                        community_id=OuterRef("pk"), kind=Thread.Kind.QUESTION, held_at__isnull=True, reply_count=0
                    )
                ),
                "f_resources": count_of(repertoire),
                "f_overdue": count_of(repertoire.filter(review_by__lt=today)),
            }
        )
        .order_by(ordering, "name", "pk")
        .values("pk", "name", "slug", "visibility", "last_activity_at", *OVERVIEW_FIGURES)
    )
    return [{name.removeprefix("f_"): value for name, value in row.items()} for row in rows]


def last_review_at(community: Community) -> datetime.datetime | None:
    at: datetime.datetime | None = ResourceReview.objects.filter(resource__community_id=community.pk).aggregate(
        at=Max("created_at")
    )["at"]
    return at
