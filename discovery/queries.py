"""What the home page and My calendar read: a member's threads across their communities, their answered
questions, upcoming events, what waits for a facilitator; and a visitor's public front page.

Who may see what is decided in ``communities/policy.py`` alone: the member home asks it for the
member's scope (``policy.member_scope``: their communities and where threads held for review
show), the ORM reads go through the models' visibility querysets.

Three statements are written out in SQL (``core.db.Columns`` ties their column lists to the models
and builds instances as the ORM would): the member's summary (their communities, what waits for
a facilitator), one page of a tab with the three tabs' counts and the member's answered
questions, and the upcoming events. Their ORM twins (``Thread.objects.of_member`` with Subquery
and Exists annotations) cost the member home more than three times its CPU; the measurement is
beside ``member_page``. tests/test_home_queries.py checks each against the ORM for every kind of
reader and every tab, on PostgreSQL and on SQLite.

The member's read state and watching levels are those the community lists read, through the
written-SQL forms discussions/queries.py keeps beside them:

* ``read_state(user, scope, levels)``: per-post read positions (``ReadState``'s
  ``last_read_post_number`` and ``read_beyond``, ``discussions.reading``): a thread's unread posts are
  ``discussions.queries.unread_posts_sql``'s, the posts ``Thread.objects.with_unread`` counts (past
  the member's position, outside its ranges, not their own, readable by them; counted up to
  ``UNREAD_COUNTED``). A thread they never opened is new.
* ``discussions.queries.levels_sql(user, memberships)``: their watching levels (``thread_level``'s
  rules). Muted threads, and every thread of a muted community without a level chosen by hand, are
  in no list or count of the home. As in a community's list, a thread shows an unread count, and
  is on the Unread tab, only when the member tracks or watches it (``Level.tracked``); a normal
  thread they opened shows nothing. The level is part of the written statement (not worked out
  per row afterwards) because the Unread tab's rows and count depend on it.

Budget: the member home is at most eight queries whatever the number of communities and threads
(tests/test_home.py): session, user, ``member_summary``, ``member_page``, ``upcoming_events`` and
the bell's two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import F, OuterRef, QuerySet, Subquery

from accounts.models import NAME_FIELDS, User
from communities import policy
from communities.models import Community, Membership, SubgroupMembership
from core.db import Columns, fetch_all, fetch_prepared
from discussions import queries as discussion_queries
from discussions.models import Flag, Post, ReadState, Thread
from events.models import RSVP, CalendarToken, Event

# A thread a member never opened is "new" while it is younger than this (and younger than their membership).
NEW_DAYS = 14
# A member's answered question stays on their home this long after the thread's last activity.
ANSWERED_DAYS = 30
QUESTIONS_SHOWN = 5
HOME_EVENTS = 5
# The tabs count at most this many threads ("999+"), so a count costs the same with 20 k or 200 k posts;
# the home lists that many of a tab, older ones are in each community's list.
COUNT_CAP = 1000


class Tab:
    LATEST = "latest"
    UNREAD = "unread"
    NEW = "new"


TABS = (Tab.LATEST, Tab.UNREAD, Tab.NEW)

_THREAD = Thread._meta.db_table
_POST = Post._meta.db_table
_MEMBERSHIP = Membership._meta.db_table
_SUBGROUP_MEMBERSHIP = SubgroupMembership._meta.db_table
_COMMUNITY = Community._meta.db_table


def _in(values: tuple[int, ...] | list[int]) -> str:
    """Placeholders for an IN list (never empty: the callers look first)."""
    return ", ".join(["%s"] * len(values))


def _when(value: datetime) -> Any:
    """A time as the database compares it with stored ones (SQLite keeps them as text, UTC)."""
    return connection.ops.adapt_datetimefield_value(value)


# --- The member's read state ------------------------------------------------------------------


@dataclass(frozen=True)
class ReadStateSQL:
    """The member's read state in a written-out statement, for a thread aliased ``t``.

    ``join`` (with ``join_params``) brings the member's position in as ``rs``; then ``marker``
    selects it (None: never opened). ``unread_count`` (needs ``levels.join`` too) is the number of
    posts they may read, did not write and were never shown, up to ``UNREAD_COUNTED``, in a thread
    they opened and track or watch, else NULL; ``unread`` (needs both joins) whether such a thread
    has any; ``unopened`` whether they never opened it. Each ``*_params`` fills its own placeholders.
    """

    join: str
    join_params: list[Any]
    marker: Columns[ReadState]
    unread_count: str
    unread_count_params: list[Any]
    unread: str
    unread_params: list[Any]
    unopened: str


_MARKER = Columns(ReadState, "rs", fields=["last_read_post_number"])


def read_state(user: User, scope: policy.MemberScope, levels: discussion_queries.LevelsSQL) -> ReadStateSQL:
    """The member's read state as the home reads it: per-post positions, counted where they track or watch.

    The unread posts are ``discussions.queries.unread_posts_sql``'s (the community lists' and
    ``Thread.objects.with_unread``'s), with every post readable where the member moderates
    (``scope.every_post_readable_in``). The thread row answers first: a position at or past the
    thread's highest post number has nothing unread, and reads no post; otherwise the
    (thread, number) index finds the posts past it.
    """
    posts, posts_params = discussion_queries.unread_posts_sql(user, scope.every_post_readable_in)
    count, count_params = discussion_queries.unread_count_sql(user, scope.every_post_readable_in)
    behind = "rs.last_read_post_number < t.highest_post_number"
    tracked = f"rs.thread_id IS NOT NULL AND ({levels.tracked})"
    return ReadStateSQL(
        join=f"LEFT JOIN {ReadState._meta.db_table} rs ON rs.thread_id = t.id AND rs.user_id = %s",
        join_params=[user.pk],
        marker=_MARKER,
        unread_count=f"CASE WHEN {tracked} THEN (CASE WHEN {behind} THEN {count} ELSE 0 END) END",
        unread_count_params=[*levels.tracked_params, *count_params],
        unread=f"{tracked} AND {behind} AND EXISTS (SELECT 1 {posts})",
        unread_params=[*levels.tracked_params, *posts_params],
        unopened="rs.thread_id IS NULL",  # on the join key: PostgreSQL makes it an anti-join
    )


# --- The member's summary ---------------------------------------------------------------------
# Their communities by name, with what waits for a facilitator in each. Its ORM twin (the
# memberships with select_related, only and three Subquery counts inside Case/When): see
# member_page's measurement, taken for the statements together.

# watch_level: the member's level for each community (discussions.queries.levels_sql);
# first_contributed_at: where they are a newcomer (ways to start, discovery/starting.py).
_SUMMARY_MEMBERSHIP = Columns(
    Membership, "m", fields=["user", "community", "role", "state", "joined_at", "watch_level", "first_contributed_at"]
)
_SUMMARY_COMMUNITY = Columns(Community, "c", fields=["name", "slug", "visibility"])
_FACILITATING = "m.role IN (%s, %s)"
_SUMMARY_SQL = (
    f"SELECT {_SUMMARY_MEMBERSHIP.sql}, {_SUMMARY_COMMUNITY.sql},"  # noqa: S608
    # Counted on a facilitator's rows only: a CASE branch's subquery runs only when it is taken.
    f" CASE WHEN {_FACILITATING} THEN (SELECT COUNT(*) FROM {_MEMBERSHIP} j"
    "  WHERE j.community_id = m.community_id AND j.state = %s) ELSE 0 END,"
    # Flagged posts (by post, as the dashboard lists them): flag_open_idx, a few rows.
    f" CASE WHEN {_FACILITATING} THEN (SELECT COUNT(*) FROM {_POST} p JOIN {_THREAD} t ON t.id = p.thread_id"
    f"  WHERE t.community_id = m.community_id AND p.id IN (SELECT f.post_id FROM {Flag._meta.db_table} f"
    "  WHERE f.resolved_at IS NULL)) ELSE 0 END,"
    # Posts held for review: post_held_idx, a few rows.
    f" CASE WHEN {_FACILITATING} THEN (SELECT COUNT(*) FROM {_POST} p JOIN {_THREAD} t ON t.id = p.thread_id"
    "  WHERE t.community_id = m.community_id AND p.state = %s) ELSE 0 END"
    f" FROM {_MEMBERSHIP} m JOIN {_COMMUNITY} c ON c.id = m.community_id"
    " WHERE m.user_id = %s AND m.state = %s ORDER BY c.name, c.id"
)


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
    waiting: list[Waiting] = field(default_factory=list)

    @property
    def communities(self) -> dict[int, Community]:
        return {m.community_id: m.community for m in self.memberships}


def member_summary(user: User) -> MemberSummary:
    """The member's communities (by name) and, where they facilitate, the join requests, flags and held posts."""
    roles = [Membership.Role.FACILITATOR, Membership.Role.OWNER]
    rows = fetch_all(
        _SUMMARY_SQL,
        [
            *roles,
            Membership.State.PENDING,
            *roles,
            *roles,
            Post.State.HELD,
            user.pk,
            Membership.State.ACTIVE,
        ],
    )
    summary = MemberSummary(memberships=[])
    after = _SUMMARY_MEMBERSHIP.width + _SUMMARY_COMMUNITY.width
    for row in rows:
        membership = _SUMMARY_MEMBERSHIP.build_present(row)
        membership.community = _SUMMARY_COMMUNITY.build_present(row, _SUMMARY_MEMBERSHIP.width)
        membership.user = user
        summary.memberships.append(membership)
        waiting = Waiting(membership.community, *row[after : after + 3])
        if membership.is_facilitator and waiting.total:
            summary.waiting.append(waiting)
    return summary


# --- A page of a tab, the tabs' counts and the answered questions ---------------------------------
# One statement: the three counts (each capped at COUNT_CAP, computed once), joined to one page of
# the tab's threads and to the member's answered questions (so an empty page still brings the
# counts). Its ORM twin (the counts as Subquery annotations on the summary's memberships, then
# the page and the questions, each Thread.objects.of_member or visible_to with Subquery and Exists
# annotations for the read state; the events through the ORM in both): the member home on the
# bench dataset (seed_bench's member, five communities, 20,000 posts), ORM 60.7 ms vs SQL 17.0 ms
# CPU per request (+256 %; the member's first thread page 18.3 and 16.5 ms in the same runs), on
# a machine shared with other work (load average near 10, so every number is about five times an
# idle machine's); bench/cpu.py --batches 3 -n 40, 2026-12-02. Written out, the events too
# (_EVENT below), the home runs 19.6 M instructions per request, the member's first thread page
# 35.1 M (bench/instructions.py, 5 requests).

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
    "subgroup",
    "accepted_answer",
    "last_poster",
)
_ROW_THREAD = Columns(Thread, "t", fields=ROW_FIELDS)
_ROW_POSTER = Columns(User, "lp", fields=NAME_FIELDS)
_ROW_COMMUNITY = Columns(Community, "c", fields=["name", "slug", "visibility"])
PAGE, QUESTION = 1, 2
_POSTER_FIELDS = tuple(f"last_poster__{name}" for name in NAME_FIELDS)


@dataclass
class MemberPage:
    """One page of a tab with the tabs' counts (each at most COUNT_CAP), and the answered questions."""

    counts: dict[str, int]
    threads: list[Thread]
    questions: list[Thread]


def _scope(scope: policy.MemberScope) -> tuple[str, list[Any]]:
    """WHERE for the member's threads, as ``policy.member_scope`` decided them (``Thread.objects.of_member``)."""
    where = f"t.community_id IN ({_in(scope.communities)})"
    params: list[Any] = list(scope.communities)
    if scope.all_held:
        return where, params
    held = "t.held_at IS NULL OR t.author_id = %s"
    params.append(scope.author)
    # Subgroup threads: of the subgroups they are in (their community is one of theirs), or where they facilitate.
    subgroups = (
        f"t.subgroup_id IS NULL OR t.subgroup_id IN (SELECT sm.subgroup_id FROM {_SUBGROUP_MEMBERSHIP} sm"  # noqa: S608
        " WHERE sm.user_id = %s)"
    )
    subgroup_params: list[Any] = [scope.author]
    if scope.held_shown_in:
        held += f" OR t.community_id IN ({_in(scope.held_shown_in)})"
        params += scope.held_shown_in
        subgroups += f" OR t.community_id IN ({_in(scope.held_shown_in)})"
        subgroup_params += scope.held_shown_in
    return f"{where} AND ({held}) AND ({subgroups})", [*params, *subgroup_params]


def _new(user: User, now: datetime, marks: ReadStateSQL) -> tuple[str, list[Any]]:
    """New: never opened, someone else's, begun in the last NEW_DAYS and after the member joined its community."""
    since = _when(now - timedelta(days=NEW_DAYS))
    # A thread's last activity is never before it began: the bound lets thread_activity_idx stop early.
    where = (
        f"{marks.unopened} AND t.created_at > %s AND t.last_activity_at > %s"  # noqa: S608
        " AND (t.author_id IS NULL OR t.author_id <> %s)"
        f" AND NOT EXISTS (SELECT 1 FROM {_MEMBERSHIP} j WHERE j.user_id = %s AND j.community_id = t.community_id"
        " AND j.joined_at > t.created_at)"
    )
    return where, [since, since, user.pk, user.pk]


def member_page(
    user: User,
    tab: str,
    *,
    now: datetime,
    offset: int,
    limit: int,
    summary: MemberSummary,
) -> MemberPage:
    """A page of a tab (``Tab``; latest activity first, ``limit`` rows from ``offset``), the counts, the questions.

    Threads and questions have ``community``, ``last_poster`` (names only), ``opened`` and
    ``unread_count`` (``read_state``: None unless they opened it and track or watch it). Threads the
    member muted, or muted with their community (``discussions.queries.levels_sql``), are in none
    of them. Questions: the member's own, active in the last ANSWERED_DAYS, with replies they
    haven't read (``read_state``'s unread: their own threads are tracked unless they chose another
    level) or an accepted answer (thread_author_idx: as many as the member asked). The member's
    communities, and their levels for them, come from ``summary``.
    """
    scope = policy.member_scope(user, summary.memberships)
    levels = discussion_queries.levels_sql(user, summary.memberships)
    marks = read_state(user, scope, levels)
    if scope.communities:
        where, where_params = _scope(scope)
    else:  # no community: no thread, but the member's questions elsewhere still count
        where, where_params = "1 = 0", []
    where += f" AND {levels.unmuted}"
    where_params += levels.unmuted_params
    new, new_params = _new(user, now, marks)
    # Both joins: the position (rs) and the member's level for the thread (tw).
    both, both_params = f"{marks.join} {levels.join}", [*marks.join_params, *levels.join_params]
    tabs = {  # each tab's condition, and the joins it needs
        Tab.LATEST: ("1 = 1", [], "", []),
        Tab.UNREAD: (marks.unread, marks.unread_params, both, both_params),
        Tab.NEW: (new, new_params, marks.join, marks.join_params),
    }
    counts_sql: list[str] = []
    counts_params: list[Any] = []
    for name in TABS:
        condition, condition_params, join, join_params = tabs[name]
        counts_sql.append(
            f"(SELECT COUNT(*) FROM (SELECT t.id FROM {_THREAD} t {join}"  # noqa: S608
            f" WHERE {where} AND {condition} LIMIT %s) x{len(counts_sql)})"
        )
        counts_params += [*join_params, *where_params, *condition_params, COUNT_CAP]

    # Questions: visible to the member (their own threads: only the community decides), answered.
    if scope.sees_everything:
        visible, visible_params = "1 = 1", []
    elif scope.communities:
        visible, visible_params = (
            f"(c.visibility = %s OR t.community_id IN ({_in(scope.communities)}))",
            [
                Community.Visibility.OPEN,
                *scope.communities,
            ],
        )
    else:
        visible, visible_params = "c.visibility = %s", [Community.Visibility.OPEN]
    columns = (
        f"{_ROW_THREAD.sql}, {_ROW_POSTER.sql}, {_ROW_COMMUNITY.sql}, {marks.marker.sql}, {marks.unread_count}"
        f" FROM {_THREAD} t JOIN {_COMMUNITY} c ON c.id = t.community_id"
        f" LEFT JOIN {User._meta.db_table} lp ON lp.id = t.last_poster_id {both}"
    )
    condition, condition_params, _join, _join_params = tabs[tab]
    page_sql = (
        f"SELECT {PAGE}, {columns} WHERE {where} AND {condition}"
        " ORDER BY t.last_activity_at DESC, t.id DESC LIMIT %s OFFSET %s"
    )
    page_params = [
        *marks.unread_count_params,
        *both_params,
        *where_params,
        *condition_params,
        limit,
        offset,
    ]
    questions_sql = (
        f"SELECT {QUESTION}, {columns} WHERE t.author_id = %s AND t.kind = %s AND t.reply_count > 0"
        f" AND t.last_activity_at >= %s AND {visible} AND {levels.unmuted}"
        f" AND (t.accepted_answer_id IS NOT NULL OR ({marks.unread}))"
        " ORDER BY t.last_activity_at DESC, t.id DESC LIMIT %s"
    )
    questions_params = [
        *marks.unread_count_params,
        *both_params,
        user.pk,
        Thread.Kind.QUESTION,
        _when(now - timedelta(days=ANSWERED_DAYS)),
        *visible_params,
        *levels.unmuted_params,
        *marks.unread_params,
        QUESTIONS_SHOWN,
    ]
    sql = (
        f"SELECT n.*, r.* FROM (SELECT {', '.join(counts_sql)}) n LEFT JOIN"  # noqa: S608
        f" (SELECT * FROM ({page_sql}) p UNION ALL SELECT * FROM ({questions_sql}) q) r ON 1 = 1"
    )
    # Planned once per session (core.db.fetch_prepared): planning was most of its cost. Its generic
    # plan keeps the indexes (tests/test_home.py reads it at 200,000 posts); the summary's would not
    # (a state given as a parameter can't pick post_held_idx), so the summary and the events are sent
    # as they are.
    rows = fetch_prepared(sql, [*counts_params, *page_params, *questions_params])
    result = MemberPage(counts=dict(zip(TABS, rows[0][:3], strict=True)), threads=[], questions=[])
    people: dict[int, User] = {}
    communities: dict[int, Community] = dict(summary.communities)
    start = 4  # the counts, then the section
    after_thread = start + _ROW_THREAD.width
    after_poster = after_thread + _ROW_POSTER.width
    after_community = after_poster + _ROW_COMMUNITY.width
    for row in rows:
        if row[3] is None:  # an empty page and no questions: the counts alone
            continue
        thread = _ROW_THREAD.build_present(row, start)
        thread.last_poster = _ROW_POSTER.build(row, after_thread, seen=people)
        thread.community = _ROW_COMMUNITY.build_present(row, after_poster, seen=communities)
        thread.opened = marks.marker.build(row, after_community) is not None
        thread.unread_count = row[after_community + marks.marker.width]
        (result.threads if row[3] == PAGE else result.questions).append(thread)
    # Each part's own order (a UNION's rows come in no promised order).
    for threads in (result.threads, result.questions):
        threads.sort(key=lambda t: (t.last_activity_at, t.pk), reverse=True)
    return result


# --- Events ---------------------------------------------------------------------------------------


def _mine(user: User) -> QuerySet[Membership, Any]:
    return Membership.objects.filter(user=user, state=Membership.State.ACTIVE).values("community_id")


def _my_events(user: User) -> QuerySet[Event]:
    """Events the member may see in the communities they belong to, with ``my_answer`` (their RSVP, or None)."""
    answer = RSVP.objects.filter(event=OuterRef("pk"), user=user).values("answer")[:1]
    return (
        Event.objects.visible_to(user)
        .filter(community__in=_mine(user))
        .annotate(my_answer=Subquery(answer))  # type: ignore[no-redef]  # Event's declared display attribute, filled here
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


# The next few events of the member's communities, with their answer. Its ORM twin (_my_events, as My
# calendar reads them, with a Subquery for the answer) cost the home about a third of its CPU once
# the rest was written out: 17.8 vs 11.7 ms per request, the thread page 16.6 and 14.4 ms in the same
# runs (bench/cpu.py --batches 3 -n 40, 2026-12-02, load average near 10; with the rows' links
# reversed once per process, which the same change brought).
_EVENT = Columns(Event, "e", fields=["community", "title", "kind", "starts_at", "ends_at", "time_zone", "cancelled_at"])


def upcoming_events(user: User, now: datetime, summary: MemberSummary, shown: int = HOME_EVENTS) -> list[Event]:
    """The next few events of the member's communities not over or cancelled, soonest first, with ``my_answer``.

    The member may see every event of their communities (``policy.member_scope``); event_upcoming_idx
    finds the ones not over yet (few, whatever the history). Each has ``community`` (the summary's).
    """
    scope = policy.member_scope(user, summary.memberships)
    if not scope.communities:
        return []
    sql = (
        f"SELECT {_EVENT.sql}, (SELECT r.answer FROM {RSVP._meta.db_table} r"  # noqa: S608
        " WHERE r.event_id = e.id AND r.user_id = %s)"
        f" FROM {Event._meta.db_table} e WHERE e.community_id IN ({_in(scope.communities)})"
        " AND e.ends_at >= %s AND e.cancelled_at IS NULL ORDER BY e.starts_at, e.id LIMIT %s"
    )
    rows = fetch_all(sql, [user.pk, *scope.communities, _when(now), shown])
    communities = summary.communities
    events = []
    for row in rows:
        event = _EVENT.build_present(row)
        event.community = communities[event.community_id]
        event.my_answer = row[-1]
        events.append(event)
    return events


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
        .only(*ROW_FIELDS, "community__name", "community__slug", "community__visibility", *_POSTER_FIELDS)
        .order_by("-last_activity_at", "-pk")
    )
    return list(rows[:shown])
