"""What discussions reads: a community's thread list, a thread page, the posts around one post, the review queues.

Views call these and hold no queries of their own beyond a policy look-up.
Who may see what comes from ``communities/policy.py``, through the models'
querysets (``Thread.objects.listed_in`` / ``visible_to``, ``Post.objects.readable_by``)
or, in the statements below, through the same policy decision.

Three statements are written out in SQL (``core.db.Columns`` ties their
column lists to the models and builds instances as the ORM would): the
thread list, the thread page's thread and a page of its posts. Each is
there because its ORM twin cost the page more than 20 % of its CPU; the
measurement is beside each. ``tests/test_written_queries.py`` and
``tests/test_thread_page_query.py`` check each against the ORM for every
kind of reader, on PostgreSQL and on SQLite.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connections
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from taggit.models import Tag, TaggedItem

from accounts.models import NAME_FIELDS, User, Viewer
from communities import policy
from communities.models import Community, Membership, SubgroupMembership, WatchLevel
from core.db import Columns, fetch_all, in_json_ranges_sql, one_or_none
from discussions import post_extras
from discussions.models import (
    TRACKED_LEVELS,
    Flag,
    Level,
    Post,
    Reaction,
    ReadState,
    Revision,
    Thread,
    ThreadGuest,
    ThreadWatch,
    thread_level,
)
from discussions.reading import UNREAD_COUNTED

# --- A community's thread list ------------------------------------------------------------
# The rows with their two people, the reader's read position and unread count, and the list's
# length, in one statement. Its ORM twin (Thread.objects.listed_in with
# select_related, only, a Subquery count and a Subquery read marker, also one
# query): community page, ORM 3.60 ms vs SQL 2.61 ms CPU per request (+38 %;
# instructions 24.8 M vs 18.3 M, +35 %), a member's 4.88 vs 3.60 ms (+36 %;
# instructions +41 %); bench/cpu.py --batches 5 (quickest of 13 runs) and bench/instructions.py, 2026-12-02.

# What a row of the list shows (discussions/_thread_list.html): not the search vector,
# which is as long as the opening post.
ROW_FIELDS = (
    "community",
    "author",
    "last_poster",
    "title",
    "kind",
    "created_at",
    "pinned_at",
    "pinned",
    "locked_at",
    "reply_count",
    "last_activity_at",
    "held_at",
    "subgroup",
    "tag_names",
)
_ROW_COLUMNS = Columns(Thread, "t", fields=ROW_FIELDS)
_ROW_AUTHOR = Columns(User, "a", fields=NAME_FIELDS)
_ROW_LAST_POSTER = Columns(User, "lp", fields=NAME_FIELDS)
_ROW_READ_STATE = Columns(ReadState, "rs", fields=["last_read_post_number"])
_ROW_WATCH = Columns(ThreadWatch, "tw", fields=["level", "reason"])  # the reader's level (watching levels)


# The threads the viewer muted (their id is the parameter): a few rows from watch_user_muted_idx,
# hashed once, so the list and its count keep their index scans (no probe per thread).
_MUTED_SQL = (
    f"{{alias}}.id {{negation}}IN (SELECT mw.thread_id FROM {ThreadWatch._meta.db_table} mw"  # noqa: S608
    f" WHERE mw.user_id = %s AND mw.level = '{WatchLevel.MUTED.value}')"
)


def _listed_where(
    alias: str,
    community: Community,
    held: str,
    viewer_pk: int | None,
    kind: str,
    tag: str,
    muted: bool = False,
    subgroups: bool = False,
) -> tuple[str, list[Any]]:
    """WHERE for the threads a list shows: ``Thread.objects.listed_in`` (``policy.listed_held_threads``), filters.

    Threads the viewer muted are left out; with ``muted``, only those are in (the "Muted" view).
    """
    where: list[str] = [f"{alias}.community_id = %s"]
    params: list[Any] = [community.pk]
    if viewer_pk is not None or muted:
        where.append(_MUTED_SQL.format(alias=alias, negation="" if muted else "NOT "))
        params.append(viewer_pk)
    if held == policy.HeldListed.NONE:
        # Anonymous visitors: nothing held, nothing of a subgroup (policy.published_threads_q).
        where.append(f"{alias}.held_at IS NULL AND {alias}.subgroup_id IS NULL")
    elif held == policy.HeldListed.OWN:
        where.append(f"({alias}.held_at IS NULL OR {alias}.author_id = %s)")
        params.append(viewer_pk)
        # policy.listed_subgroups_q: threads of the subgroups they are in, while an active member.
        if subgroups:
            where.append(
                f"({alias}.subgroup_id IS NULL OR {alias}.subgroup_id IN"  # noqa: S608
                f" (SELECT sm.subgroup_id FROM {SubgroupMembership._meta.db_table} sm WHERE sm.user_id = %s))"
            )
            params.append(viewer_pk)
        else:
            where.append(f"{alias}.subgroup_id IS NULL")
    if kind:
        where.append(f"{alias}.kind = %s")
        params.append(kind)
    if tag:
        where.append(
            f"{alias}.id IN (SELECT ti.object_id FROM {TaggedItem._meta.db_table} ti"  # noqa: S608
            f" JOIN {Tag._meta.db_table} tg ON tg.id = ti.tag_id WHERE ti.content_type_id = %s AND tg.name = %s)"
        )
        params += [ContentType.objects.get_for_model(Thread).pk, tag]
    return " AND ".join(where), params


def unread_posts_sql(user: Viewer, every_post_in: bool | Collection[int]) -> tuple[str, list[Any]]:
    """``FROM … WHERE …`` for the unread posts ``Thread.objects.with_unread`` counts, in a written statement.

    The posts of the row's thread (alias t) past the reader's position (rs),
    outside its ranges, not the reader's own, that the reader may read
    (``policy.readable_posts_in``: facilitators every post; everyone else the
    posts shown to all, their own held or hidden ones aside, which are theirs
    and never unread). ``every_post_in``: where the reader may read every post
    (``ReadablePosts.ALL``): True for every row, False for none, or the ids of
    those communities (a list across communities: the member home). No post
    where there is no position (rs missing).
    """
    where = [
        "u.thread_id = t.id",
        "u.number > rs.last_read_post_number",
        "(u.author_id IS NULL OR u.author_id <> %s)",
        "NOT " + in_json_ranges_sql(connections["default"].vendor, "u.number", "rs.read_beyond"),
    ]
    params: list[Any] = [user.pk]
    if every_post_in is not True:
        moderated = list(every_post_in) if every_post_in is not False else []
        if moderated:
            where.append(f"(u.state = %s OR t.community_id IN ({', '.join(['%s'] * len(moderated))}))")
        else:
            where.append("u.state = %s")
        params += [policy.POST_VISIBLE, *moderated]
    return f"FROM {Post._meta.db_table} u WHERE {' AND '.join(where)}", params


def unread_count_sql(user: Viewer, every_post_in: bool | Collection[int]) -> tuple[str, list[Any]]:
    """A row's unread count (``Thread.objects.with_unread``) in a written statement, capped at UNREAD_COUNTED.

    ``unread_posts_sql``'s posts, counted; 0 where there is no position (rs missing).
    """
    posts, params = unread_posts_sql(user, every_post_in)
    return f"(SELECT COUNT(*) FROM (SELECT 1 {posts} LIMIT %s) AS capped)", [*params, UNREAD_COUNTED]  # noqa: S608


def _unread_sql(community: Community, user: Viewer) -> tuple[str, list[Any]]:
    """``unread_count_sql`` for ``community``'s list, as ``policy.readable_posts_in`` decides its posts."""
    return unread_count_sql(user, policy.readable_posts_in(user, community) == policy.ReadablePosts.ALL)


def thread_list_page(
    community: Community,
    user: Viewer,
    *,
    kind: str = "",
    tag: str = "",
    offset: int = 0,
    markers: bool = False,
    muted: bool = False,
) -> tuple[list[Thread], int, int]:
    """One page of ``community``'s thread list from ``offset`` as ``user`` sees it, its length, and how many they muted.

    Each thread has ``author`` and ``last_poster`` (names only); with
    ``markers`` (a member's list) ``level`` (their watching level,
    ``discussions.models.thread_level``), ``unread_count`` (for a thread they
    track or watch: posts they may read and were never shown, up to
    UNREAD_COUNTED; None for a thread they never opened or do not track) and
    ``unread`` (never opened, or, tracked or watched, something unread: a
    normal thread they have opened shows no marker, as in Discourse). Without
    markers, no count is read: ``unread`` False, ``unread_count`` None.
    Threads ``user`` muted are not in the list; with ``muted``, only they are.
    """
    held = policy.listed_held_threads(user, community)
    viewer_pk = user.pk if user.is_authenticated else None
    reader_pk = user.pk if markers else None
    # Whether they read subgroups here as a member (an active one: leaving or a ban ends it).
    subgroups = policy.can_see_subgroups(user, community)
    where, params = _listed_where("t", community, held, viewer_pk, kind, tag, muted, subgroups)
    count_where, count_params = _listed_where("n", community, held, viewer_pk, kind, tag, muted, subgroups)
    unread_sql, unread_params = _unread_sql(community, user) if markers else ("NULL", [])
    # Watching levels: the "Muted (n)" count rides along in the same statement.
    muted_where, muted_params = _listed_where("mu", community, held, viewer_pk, "", "", True, subgroups)
    muted_count = f"(SELECT COUNT(*) FROM {Thread._meta.db_table} mu WHERE {muted_where})" if reader_pk else "0"  # noqa: S608
    muted_params = muted_params if reader_pk else []
    sql = (
        f"SELECT {_ROW_COLUMNS.sql}, {_ROW_AUTHOR.sql}, {_ROW_LAST_POSTER.sql}, {_ROW_READ_STATE.sql},"  # noqa: S608
        f" {_ROW_WATCH.sql}, {unread_sql}, {muted_count},"
        f" (SELECT COUNT(*) FROM {Thread._meta.db_table} n WHERE {count_where})"
        f" FROM {Thread._meta.db_table} t"
        f" LEFT JOIN {User._meta.db_table} a ON a.id = t.author_id"
        f" LEFT JOIN {User._meta.db_table} lp ON lp.id = t.last_poster_id"
        f" LEFT JOIN {ReadState._meta.db_table} rs ON rs.thread_id = t.id AND rs.user_id = %s"
        f" LEFT JOIN {ThreadWatch._meta.db_table} tw ON tw.thread_id = t.id AND tw.user_id = %s"
        f" WHERE {where} ORDER BY t.pinned DESC, t.last_activity_at DESC LIMIT %s OFFSET %s"
    )
    rows = fetch_all(
        sql,
        [
            *unread_params,
            *muted_params,
            *count_params,
            reader_pk,
            reader_pk,
            *params,
            settings.THREADS_PER_PAGE,
            offset,
        ],
    )
    if not rows:  # an empty list, or a page past its end: count on its own
        count_sql = f"SELECT COUNT(*), {muted_count} FROM {Thread._meta.db_table} n WHERE {count_where}"  # noqa: S608
        total, muted_total = fetch_all(count_sql, [*muted_params, *count_params])[0]
        return [], total, muted_total
    threads = []
    widths = [_ROW_COLUMNS.width, _ROW_AUTHOR.width, _ROW_LAST_POSTER.width, _ROW_READ_STATE.width]
    people: dict[int, User] = {}  # one instance per person, however many rows name them
    membership = policy.membership_of(user, community) if markers else None  # cached: no query
    for row in rows:
        thread = _ROW_COLUMNS.build_present(row)
        thread.community = community  # links use it; saves a query per row
        thread.author = _ROW_AUTHOR.build(row, widths[0], seen=people)
        thread.last_poster = _ROW_LAST_POSTER.build(row, widths[0] + widths[1], seen=people)
        read = _ROW_READ_STATE.build(row, sum(widths[:3]))
        thread.level = thread_level(_ROW_WATCH.build(row, sum(widths)), membership)
        tracked = markers and read is not None and thread.level.tracked
        thread.unread_count = row[-3] if tracked else None
        thread.unread = markers and (read is None or (tracked and bool(row[-3])))
        threads.append(thread)
    return threads, rows[0][-1], rows[0][-2]


def unread_counts(user: Viewer, thread_ids: Iterable[int]) -> dict[int, int | None]:
    """For each of ``thread_ids`` that ``user`` may see: how many posts there they may read and were never shown.

    One query, for any number of threads (the member's home page, any list):
    ``Thread.objects.visible_to(user).with_unread(user)``. A count stops at
    ``UNREAD_COUNTED`` (show "99+" from UNREAD_COUNTED - 1 up); None means
    they never opened the thread (show "new"). Threads they may not see are
    left out, so nothing about them leaks; anonymous visitors get {}.
    To list threads with their counts, annotate the list's own queryset with
    ``Thread.objects.with_unread(user)`` instead (``thread.unread_count``).
    """
    ids = list(thread_ids)
    if not user.is_authenticated or not ids:
        return {}
    threads = Thread.objects.filter(pk__in=ids).visible_to(user).with_unread(user).only("pk")
    return {thread.pk: thread.unread_count for thread in threads}


# --- The thread page ----------------------------------------------------------------------
# The thread with its community, the reader's membership and read marker, in
# one statement. Its ORM twin (select_related, a FilteredRelation for the
# membership, a Subquery for the marker): a thread's last page, ORM 1.43 ms vs
# SQL 1.08 ms CPU per request (+32 %; instructions 8.7 M vs 6.0 M, +44 %), a
# member's 3.78 vs 2.20 ms (+72 %; instructions 19.1 M vs 12.4 M, +54 %);
# bench/cpu.py --batches 5 (quickest of 13 runs) and bench/instructions.py, 2026-12-02.

_THREAD_COLUMNS = Columns(Thread, "t", exclude=["search_vector"])
_COMMUNITY_COLUMNS = Columns(Community, "c")
_MEMBERSHIP_COLUMNS = Columns(Membership, "m")
_READ_STATE_COLUMNS = Columns(ReadState, "rs")
_WATCH_COLUMNS = Columns(ThreadWatch, "tw")  # the reader's watching level for the thread
_THREAD_SQL = (
    f"SELECT {_THREAD_COLUMNS.sql}, {_COMMUNITY_COLUMNS.sql}, {_MEMBERSHIP_COLUMNS.sql}, {_READ_STATE_COLUMNS.sql}"  # noqa: S608
    f", {_WATCH_COLUMNS.sql}"
    # Whether the reader holds an active guest place here (policy.is_guest_in, seeded: no query of its own).
    f", EXISTS (SELECT 1 FROM {ThreadGuest._meta.db_table} g WHERE g.thread_id = t.id AND g.user_id = %s"
    " AND g.revoked_at IS NULL AND g.expires_at > %s)"
    f" FROM {Thread._meta.db_table} t JOIN {Community._meta.db_table} c ON c.id = t.community_id"
    f" LEFT JOIN {Membership._meta.db_table} m ON m.community_id = t.community_id AND m.user_id = %s"
    f" LEFT JOIN {ReadState._meta.db_table} rs ON rs.thread_id = t.id AND rs.user_id = %s"
    f" LEFT JOIN {ThreadWatch._meta.db_table} tw ON tw.thread_id = t.id AND tw.user_id = %s"
    " WHERE t.id = %s"
)
_LARGEST_ID = 2**63 - 1  # BigAutoField


def thread_for_reader(user: Viewer, pk: int) -> tuple[Thread, ReadState | None]:
    """The thread (with ``community``) if ``user`` may read it, else 404; and their read marker, if any.

    The membership found on the way is handed to the policy's cache, so the
    permission questions the page asks cost no further query; the reader's
    watching level rides along too (``thread.level``, ``thread_level``).
    """
    reader = user.pk if user.is_authenticated else None
    params = [reader, timezone.now(), reader, reader, reader, pk]
    rows = fetch_all(_THREAD_SQL, params) if 0 < pk <= _LARGEST_ID else []
    if not rows:
        raise Http404("No such thread.")
    row = rows[0]
    thread = _THREAD_COLUMNS.build_present(row)
    start = _THREAD_COLUMNS.width
    thread.community = community = _COMMUNITY_COLUMNS.build_present(row, start)
    start += _COMMUNITY_COLUMNS.width
    read_state = None
    membership = watch = None
    if reader is not None:
        membership = _MEMBERSHIP_COLUMNS.build(row, start)
        policy.remember_membership(user, community, membership)
        read_state = _READ_STATE_COLUMNS.build(row, start + _MEMBERSHIP_COLUMNS.width)
        watch = _WATCH_COLUMNS.build(row, start + _MEMBERSHIP_COLUMNS.width + _READ_STATE_COLUMNS.width)
        policy.remember_guest(user, thread, bool(row[-1]))
    thread.level = thread_level(watch, membership)
    return policy.visible_thread_or_404(user, thread), read_state


# A page of a thread: the columns the page shows (stored HTML and names, not the
# Markdown source, plain text or search vector). Its ORM twin (select_related
# author and parent__author, only, an Exists for the reader's mark, a Subquery
# for the deep page's first path): a thread's last page, ORM 1.94 ms vs SQL
# 1.08 ms CPU per request (+80 %; instructions 12.6 M vs 6.0 M, +109 %), a
# member's 3.86 vs 2.20 ms (+75 %; instructions 21.4 M vs 12.4 M, +73 %);
# bench/cpu.py --batches 5 (quickest of 13 runs) and bench/instructions.py, 2026-12-02.
POST_FIELDS = (
    "thread",
    "author",
    "parent",
    "depth",
    "path",
    "number",
    "body_html",
    "created_at",
    "edit_count",
    "helpful_count",
    "state",
    "hidden_reason",
    "by_guest",
)
PERSON_FIELDS = (*NAME_FIELDS, "is_active")
_PAGE_POST = Columns(Post, "p", fields=POST_FIELDS)
_PAGE_AUTHOR = Columns(User, "a", fields=PERSON_FIELDS)
_PAGE_PARENT_AUTHOR = Columns(User, "qa", fields=PERSON_FIELDS)


@functools.cache
def _page_sql(joined: tuple[post_extras.Joined, ...], deep: bool) -> str:
    """The statement for a page of posts, with the rows apps above join to each post (post_extras.Joined).

    Built once per set of joined rows (they register when the apps are ready, after this module loads).
    """
    extra_columns = "".join(f", {j.columns.sql}" for j in joined)
    extra_joins = "".join(j.join_sql("p") for j in joined)
    select = (  # Table names come from the models; every value is a parameter.
        f"SELECT {_PAGE_POST.sql}, {_PAGE_AUTHOR.sql}, {_PAGE_PARENT_AUTHOR.sql}{extra_columns},"  # noqa: S608
        # Whether the reader marked it helpful (no reader, no match): the unique
        # (post, user, kind) index answers it, so the page needs no second query.
        f" EXISTS (SELECT 1 FROM {Reaction._meta.db_table} r WHERE r.post_id = p.id AND r.user_id = %s AND r.kind = %s)"
        f" FROM {Post._meta.db_table} p LEFT JOIN {User._meta.db_table} a ON a.id = p.author_id"
        f" LEFT JOIN {Post._meta.db_table} q ON q.id = p.parent_id"
        f" LEFT JOIN {User._meta.db_table} qa ON qa.id = q.author_id{extra_joins}"
    )
    if not deep:
        return f"{select} WHERE p.thread_id = %s ORDER BY p.path LIMIT %s"
    return (
        f"{select} WHERE p.thread_id = %s AND p.path >= (SELECT path FROM {Post._meta.db_table}"  # noqa: S608
        " WHERE thread_id = %s ORDER BY path LIMIT 1 OFFSET %s) ORDER BY p.path LIMIT %s"
    )


def page_of_posts(thread: Thread, start: int, count: int, reader: Viewer | None = None) -> list[Post]:
    """``count`` posts of ``thread`` in tree order from position ``start`` (one query).

    Each post has ``author`` (a person with the fields names need, or None),
    ``replying_to`` (the parent's author, or None), ``reader_found_helpful``
    (whether ``reader``, a logged-in person, marked it helpful) and ``joined``
    (the reader's row of each ``post_extras.Joined``, or None). A deep page
    starts at the path an index-only walk of post_tree_idx finds, not at an
    OFFSET over full rows.
    """
    reader_pk = reader.pk if reader is not None and reader.is_authenticated else None
    joined = post_extras.joined() if reader_pk is not None else ()  # a visitor has no rows of their own
    params: list[Any] = [reader_pk, Reaction.Kind.HELPFUL, *[reader_pk] * len(joined), thread.pk]
    if start:
        rows = fetch_all(_page_sql(joined, True), [*params, thread.pk, start, count])
    else:
        rows = fetch_all(_page_sql(joined, False), [*params, count])
    people: dict[int, User] = {}  # one instance per person, however many posts name them
    after_post = _PAGE_POST.width
    after_author = after_post + _PAGE_AUTHOR.width
    after_people = after_author + _PAGE_PARENT_AUTHOR.width
    posts = []
    for row in rows:
        post = _PAGE_POST.build_present(row)
        post.thread = thread
        post.author = _PAGE_AUTHOR.build(row, after_post, seen=people)
        post.replying_to = _PAGE_PARENT_AUTHOR.build(row, after_author, seen=people)
        post.joined = {}
        at = after_people
        for j in joined:
            post.joined[j.name] = j.columns.build(row, at)
            at += j.columns.width
        post.reader_found_helpful = bool(row[-1])
        posts.append(post)
    return posts


def accepted_answer(thread: Thread) -> Post | None:
    """The thread's accepted answer with its author (the caller asks the policy whether it may be read)."""
    if thread.accepted_answer_id is None:
        return None
    answer = one_or_none(Post.objects.select_related("author").filter(pk=thread.accepted_answer_id))
    if answer is not None:
        answer.thread = thread
    return answer


# --- Posts around one post ------------------------------------------------------------------


def post_with_thread(pk: int) -> Post | None:
    """A post with its thread, the thread's community and its author (for the policy's questions)."""
    return one_or_none(Post.objects.select_related("thread__community", "author").filter(pk=pk))


def revisions_of(post: Post) -> QuerySet[Revision]:
    """The post's earlier versions, newest first (the model's order), with who edited."""
    return post.revisions.select_related("editor")


def position_in_thread(post: Post) -> int:
    """How many posts come before ``post`` in its thread's tree order (which page holds it)."""
    return Post.objects.filter(thread_id=post.thread_id, path__lt=post.path).count()


def first_unread_post(thread: Thread, user: Viewer) -> Post | None:
    """The first post of ``thread``, in reading (tree) order, that ``user`` may read, did not write and was never shown.

    Never opened: the opening post. Nothing unread: None. The posts counted
    by ``unread_counts`` are the ones this looks among.
    """
    posts = Post.objects.readable_by(user).filter(thread=thread).select_related("thread__community")
    if user.is_authenticated:
        state = one_or_none(ReadState.objects.filter(user=user, thread=thread))
        if state is not None:
            position = state.position
            posts = posts.filter(number__gt=position.upto).exclude(author=user)
            for first, last in position.ranges:
                posts = posts.exclude(number__range=(first, last))
    return posts.order_by("path").first()


def reply_parent(thread: Thread, pk: int) -> Post | None:
    """The post of ``thread`` a reply answers, with its author; None if ``thread`` has no such post."""
    parent = one_or_none(Post.objects.select_related("author").filter(pk=pk, thread=thread))
    if parent is not None:
        parent.thread = thread
    return parent


def post_as_listed(pk: int) -> Post:
    """A post as a thread page shows it: with its author and the author of the post it answers."""
    return Post.objects.select_related("author", "parent__author").get(pk=pk)


def posts_in_tree_order(thread: Thread) -> list[Post]:
    """Every post of ``thread`` in tree order, with authors (a hosted chat's page: a bounded thread)."""
    return list(Post.objects.filter(thread=thread).select_related("author", "parent__author").order_by("path"))


# --- The facilitators' review queues ---------------------------------------------------------

REVIEW_SHOWN = 100


def held_posts(community: Community) -> list[Post]:
    """Posts waiting for a facilitator, oldest first."""
    return list(
        Post.objects.filter(thread__community=community, state=Post.State.HELD)
        .select_related("author", "thread")
        .order_by("state_changed_at")[:REVIEW_SHOWN]
    )


def open_flags(community: Community) -> list[Flag]:
    """Flags nobody has dealt with yet, oldest first, with the post, its author and thread, and who flagged."""
    return list(
        Flag.objects.filter(post__thread__community=community, resolved_at__isnull=True)
        .select_related("post__author", "post__thread", "user")
        .order_by("created_at")[:REVIEW_SHOWN]
    )


# --- Watching levels ----------------------------------------------------------------------
# The rules of discussions.models.thread_level as filters: on threads (what lists
# leave out) and on people (who is told of a post). tests/test_watching.py checks
# them against thread_level for every combination of thread and community level.

_MUTED = WatchLevel.MUTED
_BY_HAND = ThreadWatch.Reason.BY_HAND


def unmuted_threads_q(user: Viewer, prefix: str = "") -> Q:
    """Threads ``user`` has not muted, nor muted with their community: the filter a cross-community list adds.

    On Thread's fields (``prefix`` for a relation, "thread__"). A community
    the member muted takes its threads out, except those they gave a level by hand.
    Anonymous visitors mute nothing. Use it beside ``Thread.objects.visible_to(user)``.
    """
    return ~muted_threads_q(user, prefix) if user.is_authenticated else Q()


def muted_threads_q(user: Viewer, prefix: str = "") -> Q:
    """The threads ``unmuted_threads_q`` leaves out (a "Muted" view across communities)."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    mine = ThreadWatch.objects.filter(user=user)
    muted_communities = Membership.objects.filter(user=user, state=Membership.State.ACTIVE, watch_level=_MUTED)
    return Q(**{f"{prefix}pk__in": mine.filter(level=_MUTED).values("thread_id")}) | (
        Q(**{f"{prefix}community__in": muted_communities.values("community_id")})
        & ~Q(**{f"{prefix}pk__in": mine.filter(reason=_BY_HAND).values("thread_id")})
    )


def with_levels(threads: QuerySet[Thread], user: Viewer) -> QuerySet[Thread]:
    """``threads`` with what ``level_of`` needs, read in the same query (four small correlated look-ups)."""
    watch = ThreadWatch.objects.filter(user=user.pk, thread=OuterRef("pk"))
    membership = Membership.objects.filter(
        user=user.pk, community=OuterRef("community_id"), state=Membership.State.ACTIVE
    )
    return threads.annotate(
        watch_level=Subquery(watch.values("level")[:1]),
        watch_reason=Subquery(watch.values("reason")[:1]),
        community_watch_level=Subquery(membership.values("watch_level")[:1]),
        community_role=Subquery(membership.values("role")[:1]),
    )


def level_of(thread: Thread) -> Level:
    """The level of a thread read through ``with_levels`` (``thread_level`` on its annotations)."""
    values = thread.__dict__
    watch = None
    if values.get("watch_level"):
        watch = ThreadWatch(level=values["watch_level"], reason=values["watch_reason"])
    membership = None
    if values.get("community_role"):
        membership = Membership(role=values["community_role"], watch_level=values["community_watch_level"])
    return thread_level(watch, membership)


# The same rules in a written statement across communities (the member home, discovery/queries.py),
# for threads aliased t: the member's community levels come from their memberships (loaded by the
# caller), their ThreadWatch for the row is joined as tw. tests/test_watching.py checks them
# against thread_level for every combination, as the filters above.


@dataclass(frozen=True)
class LevelsSQL:
    """A member's watching levels in a written statement: ``unmuted`` needs no join; ``tracked`` needs ``join``.

    ``unmuted``: the thread is not muted (by hand, or with its community without a level by hand):
    ``unmuted_threads_q``. ``tracked``: its level is watching or tracking (``Level.tracked``), for the
    row's ThreadWatch joined by ``join`` (with ``join_params``); true, or false or NULL (never
    negate it). Each ``*_params`` fills its own placeholders.
    """

    join: str
    join_params: list[Any]
    unmuted: str
    unmuted_params: list[Any]
    tracked: str
    tracked_params: list[Any]


def _in_communities(ids: list[int]) -> tuple[str, list[Any]]:
    if not ids:
        return "1 = 0", []
    return f"t.community_id IN ({', '.join(['%s'] * len(ids))})", list(ids)


def levels_sql(user: User, memberships: Iterable[Membership]) -> LevelsSQL:
    """``thread_level``'s rules for ``user``'s threads (alias t) in a written statement; ``memberships``: theirs.

    Only active memberships have a community level (as in ``thread_level``); in other communities
    the thread's own row decides. Muting: the threads muted by hand (``_MUTED_SQL``: a few rows
    hashed once), and the threads of a muted community, except those given a level by hand.
    """
    by_level: dict[str, list[int]] = {}
    for membership in memberships:
        if membership.user_id == user.pk and membership.is_active:
            by_level.setdefault(membership.effective_watch_level, []).append(membership.community_id)
    unmuted = _MUTED_SQL.format(alias="t", negation="NOT ")
    unmuted_params: list[Any] = [user.pk]
    if by_level.get(_MUTED):
        muted_here, muted_params = _in_communities(by_level[_MUTED])
        unmuted += (
            f" AND (NOT {muted_here} OR t.id IN (SELECT hw.thread_id FROM {ThreadWatch._meta.db_table} hw"  # noqa: S608
            " WHERE hw.user_id = %s AND hw.reason = %s))"
        )
        unmuted_params += [*muted_params, user.pk, _BY_HAND]
    tracked_levels = sorted(TRACKED_LEVELS)
    # 1. a level by hand wins; 2. a muted or watched community decides; 3. the automatic level (always
    # tracking); 4. a tracked community.
    tracked = "CASE WHEN tw.reason = %s THEN tw.level IN (%s, %s)"
    tracked_params: list[Any] = [_BY_HAND, *tracked_levels]
    deciding = by_level.get(_MUTED, []) + by_level.get(WatchLevel.WATCHING, [])
    if deciding:
        decides, decides_params = _in_communities(deciding)
        watched, watched_params = _in_communities(by_level.get(WatchLevel.WATCHING, []))
        tracked += f" WHEN {decides} THEN {watched}"
        tracked_params += [*decides_params, *watched_params]
    tracking, tracking_params = _in_communities(by_level.get(WatchLevel.TRACKING, []))
    tracked += f" ELSE (tw.level IN (%s, %s) OR {tracking}) END"
    tracked_params += [*tracked_levels, *tracking_params]
    return LevelsSQL(
        join=f"LEFT JOIN {ThreadWatch._meta.db_table} tw ON tw.thread_id = t.id AND tw.user_id = %s",
        join_params=[user.pk],
        unmuted=unmuted,
        unmuted_params=unmuted_params,
        tracked=tracked,
        tracked_params=tracked_params,
    )


def _members_at(thread: Thread, *levels: str) -> QuerySet[Membership]:
    return Membership.objects.filter(community_id=thread.community_id, state=Membership.State.ACTIVE).filter(
        Membership.watch_level_q(*levels)
    )


def muted_by_q(thread: Thread) -> Q:
    """People (a filter on the user model) who muted ``thread``, or its community without a thread level by hand."""
    here = ThreadWatch.objects.filter(thread=thread)
    return Q(pk__in=here.filter(level=_MUTED).values("user_id")) | (
        Q(pk__in=_members_at(thread, _MUTED).values("user_id"))
        & ~Q(pk__in=here.filter(reason=_BY_HAND).values("user_id"))
    )


def watching_q(thread: Thread) -> Q:
    """Members in good standing who watch ``thread`` (by hand, or through its community): told of every post."""
    here = ThreadWatch.objects.filter(thread=thread)
    in_good_standing = Membership.objects.filter(community_id=thread.community_id, state=Membership.State.ACTIVE)
    return Q(pk__in=in_good_standing.values("user_id")) & (
        Q(pk__in=here.filter(level=WatchLevel.WATCHING).values("user_id"))
        | (
            Q(pk__in=_members_at(thread, WatchLevel.WATCHING).values("user_id"))
            & ~Q(pk__in=here.filter(reason=_BY_HAND).values("user_id"))
        )
    )


def new_thread_watchers_q(thread: Thread) -> Q:
    """Members who watch ``thread``'s community, or watch it for new threads (facilitators by default)."""
    watchers = _members_at(thread, WatchLevel.WATCHING, WatchLevel.WATCHING_FIRST_POST)
    return Q(pk__in=watchers.values("user_id")) & ~muted_by_q(thread)


# --- Guests ----------------------------------------------------------------------------
# An outside expert's place in one thread (ThreadGuest). Active while accepted, not revoked
# and not past its end: the clock is read with every query, so access ends by itself.


def _active_places() -> QuerySet[ThreadGuest]:
    return ThreadGuest.objects.filter(user__isnull=False, revoked_at__isnull=True, expires_at__gt=timezone.now())


def active_guest_thread_ids(user: Viewer) -> QuerySet[ThreadGuest, Any]:
    """The threads ``user`` is a guest in right now (for ``policy.register_guest_places``)."""
    return _active_places().filter(user_id=user.pk or 0).values("thread_id")


def active_thread_guest_ids(thread_id: int) -> QuerySet[ThreadGuest, Any]:
    """The people who are guests in the thread right now (for ``policy.register_guest_places``)."""
    return _active_places().filter(thread_id=thread_id).values("user_id")


def guest_places_of(user: Viewer) -> list[ThreadGuest]:
    """A guest's home: the threads they are a guest in right now, soonest ending first, with their community."""
    if not user.is_authenticated:
        return []
    return list(
        _active_places()
        .filter(user_id=user.pk or 0, thread__held_at__isnull=True)
        .select_related("thread__community")
        .order_by("expires_at")
    )


def guests_of(thread: Thread) -> list[ThreadGuest]:
    """Everyone ever asked into ``thread`` as a guest, newest first (its facilitators' list)."""
    return list(ThreadGuest.objects.filter(thread=thread).select_related("user").order_by("-created_at"))


def guest_place(user: Viewer, thread: Thread) -> ThreadGuest | None:
    """``user``'s active guest place in ``thread`` (its end date for the banner), if they hold one."""
    return _active_places().filter(user_id=user.pk or 0, thread=thread).order_by("-expires_at").first()


# --- The welcome's introductions thread (communities/welcome.py) -------------------------------


def introduction_choices(community: Community, shown: int = 500) -> list[tuple[int, str]]:
    """The community's own published threads, latest activity first: what may be its introductions thread."""
    rows = (
        Thread.objects.filter(community=community)
        .filter(policy.published_threads_q())
        .order_by("-last_activity_at")
        .values_list("pk", "title")[:shown]
    )
    return list(rows)


def introductions_thread(community: Community) -> Thread | None:
    """The thread its facilitators chose for introductions, if it is still there and in this community."""
    if community.introductions_thread_id is None:
        return None
    thread = Thread.objects.filter(pk=community.introductions_thread_id, community=community).first()
    if thread is not None:
        thread.community = community
    return thread
