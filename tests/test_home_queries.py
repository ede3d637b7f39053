"""The member home's written-out statements (discovery/queries.py), checked against the ORM.

The summary (the member's communities and what waits for a facilitator), a tab's page with the
three counts and the answered questions, and the upcoming events are written out in SQL because
their ORM twins cost the member home more than twice its CPU (the numbers are beside the
statements). Here each gives what the ORM gives, built from the models' own querysets
(``Thread.objects.of_member`` and ``visible_to``, the unread counts of ``with_unread``, the
watching levels of ``discussions.queries``' filters and ``thread_level``, the dashboard's queues),
for every kind of reader and every tab, and the unread counts against each community's list; the
last test runs this file again on SQLite.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from communities import queries as community_queries
from communities import services as community_services
from communities.models import Membership, WatchLevel
from discovery import queries
from discovery.queries import Tab
from discussions import queries as discussion_queries
from discussions import services
from discussions.models import Post, ReadState, Thread
from events import services as events
from events.models import RSVP, Event
from tests import factories
from tests.sqlite import assert_passes_on_sqlite

pytestmark = pytest.mark.django_db

READERS = ["member", "facilitator", "owner", "pending", "banned", "outsider", "admin"]


@pytest.fixture
def busy(world, conversation, make_user):
    """Threads of every kind and state across the world's communities, read markers at every stage, events."""
    nina = make_user("nina", display_name="Nina Newcomer")
    for community in (world.public, world.private):
        factories.membership(nina, community)
    made = []
    base = timezone.now() - timedelta(days=20)
    for i in range(26):
        community = (world.public, world.private, world.approval)[i % 3]
        author = (world.member, world.owner, world.facilitator, nina)[i % 4]
        if community == world.approval and author in (world.member, nina, world.facilitator):
            author = world.owner
        kind = ("question", "discussion", "story")[i % 3]
        by = world.owner if community == world.approval else nina
        thread = factories.thread(author, community, title=f"Busy {i}", kind=kind, replies=i % 4, by=by)
        made.append(thread)
    for i, thread in enumerate(made):  # distinct activity times, some recent, some weeks old
        when = base + timedelta(hours=i * 17)
        Thread.objects.filter(pk=thread.pk).update(created_at=when - timedelta(hours=1), last_activity_at=when)
        Post.objects.filter(thread=thread).update(created_at=when - timedelta(minutes=30))
        Post.objects.filter(thread=thread, depth__gt=0).update(created_at=when)
    made = [Thread.objects.get(pk=thread.pk) for thread in made]
    held = factories.thread(nina, world.public, title="Nina held", suspected_spam=True)
    factories.thread(world.member, world.private, title="Mira held", suspected_spam=True)
    for reader in (world.member, world.facilitator, world.owner, world.admin):
        for thread in made[1::4]:
            services.mark_read(reader, thread, [1])  # behind: the opening post only
        for thread in made[2::4]:
            services.mark_read(reader, thread)  # caught up
    # Read out of order: posts 1 and 3 of four shown (a position with a range), posts 2 and 4 unread.
    services.mark_read(world.member, made[7], [1, 3])
    # Watching levels: Mira tracks the circle and muted one thread of the commons; Fern muted the
    # circle but watches one of its threads by hand; Olive set her own answered question to normal.
    community_services.set_watch_level(world.member, world.private, WatchLevel.TRACKING)
    services.set_thread_level(world.member, made[3], WatchLevel.MUTED)
    community_services.set_watch_level(world.facilitator, world.private, WatchLevel.MUTED)
    services.set_thread_level(world.facilitator, made[1], WatchLevel.WATCHING)
    services.set_thread_level(world.owner, made[9], WatchLevel.NORMAL)
    replies = Post.objects.filter(thread__community=world.public, thread__in=made, depth__gt=0, author=nina).order_by(
        "pk"
    )
    services.hide_post(world.facilitator, replies[0], "Off topic")
    services.flag_post(world.member, replies[1], "Unkind")
    services.flag_post(world.owner, replies[1], "Rude")
    question = made[9]  # Olive's, answered by Nina
    services.accept_answer(world.owner, question, Post.objects.filter(thread=question, depth__gt=0).first())
    services.mark_read(world.member, conversation.thread, [1])  # Mira's, answered
    Membership.objects.filter(user=world.member, community=world.private).update(
        joined_at=timezone.now() - timedelta(days=3)
    )
    chat = factories.event(world.owner, world.public, title="Soon")
    events.rsvp(world.member, chat, "going")
    events.rsvp(world.facilitator, chat, "no")
    factories.event(world.owner, world.private, title="Later", starts=timedelta(days=9))
    gone = factories.event(world.owner, world.public, title="Gone", starts=timedelta(days=1))
    events.cancel_event(world.owner, gone)
    factories.event(world.other_facilitator, world.elsewhere, title="Elsewhere")
    return {"threads": made, "held": held}


# --- The ORM twins -------------------------------------------------------------------------------


def orm_threads(user, threads=None):
    """Threads not muted (``unmuted_threads_q``), with the unread counts and levels as the ORM reads them."""
    threads = Thread.objects.of_member(user) if threads is None else threads
    threads = threads.filter(discussion_queries.unmuted_threads_q(user)).with_unread(user)
    return discussion_queries.with_levels(threads, user)


def as_listed(threads):
    """``opened``, and ``unread_count`` only where the member tracks or watches the thread (``thread_level``)."""
    threads = list(threads)
    for thread in threads:
        thread.opened = thread.unread_count is not None  # with_unread: None for a thread never opened
        if not discussion_queries.level_of(thread).tracked:
            thread.unread_count = None
    return threads


def orm_tab(user, tab, now):
    threads = orm_threads(user)
    if tab == Tab.NEW:
        since = now - timedelta(days=queries.NEW_DAYS)
        joined_later = Membership.objects.filter(
            user=user, community=OuterRef("community"), joined_at__gt=OuterRef("created_at")
        )
        threads = (
            threads.filter(created_at__gt=since)
            .exclude(Exists(ReadState.objects.filter(user=user, thread=OuterRef("pk"))))
            .exclude(author=user)
            .exclude(Exists(joined_later))
        )
    listed = as_listed(threads.order_by("-last_activity_at", "-pk"))
    if tab == Tab.UNREAD:
        listed = [t for t in listed if t.opened and t.unread_count]
    return listed


def orm_questions(user, now):
    threads = Thread.objects.visible_to(user).filter(
        author=user,
        kind=Thread.Kind.QUESTION,
        reply_count__gt=0,
        last_activity_at__gte=now - timedelta(days=queries.ANSWERED_DAYS),
    )
    listed = as_listed(orm_threads(user, threads).order_by("-last_activity_at", "-pk"))
    return [t for t in listed if t.unread_count or t.accepted_answer_id][: queries.QUESTIONS_SHOWN]


def sql_page(user, tab, now, page_size=5):
    """Every page of a tab through the written statement, and the counts and questions of the first."""
    summary = queries.member_summary(user)
    first = queries.member_page(user, tab, now=now, offset=0, limit=page_size, summary=summary)
    threads, offset = [], 0
    while True:
        page = queries.member_page(user, tab, now=now, offset=offset, limit=page_size, summary=summary)
        assert page.counts == first.counts and [t.pk for t in page.questions] == [t.pk for t in first.questions]
        threads += page.threads
        if len(page.threads) < page_size:
            return first, threads
        offset += page_size


# --- The statements give what the ORM gives ---------------------------------------------------------


@pytest.mark.parametrize("who", READERS)
@pytest.mark.parametrize("tab", [Tab.LATEST, Tab.UNREAD, Tab.NEW])
def test_every_page_of_every_tab_is_the_orms_for_every_reader(busy, world, who, tab):
    user = getattr(world, who)
    now = timezone.now()
    first, threads = sql_page(user, tab, now)
    expected = orm_tab(user, tab, now)
    assert [t.pk for t in threads] == [t.pk for t in expected]
    assert [(t.opened, t.unread_count) for t in threads] == [(t.opened, t.unread_count) for t in expected]
    assert first.counts == {name: len(orm_tab(user, name, now)) for name in queries.TABS}
    # Rows carry what the list shows, without further queries.
    for thread in threads:
        assert thread.community.name and thread.community.slug
        assert thread.last_poster is None or thread.last_poster.name
    if who == "member" and tab == Tab.LATEST:
        assert expected and first.counts[Tab.UNREAD] and first.counts[Tab.NEW]  # the fixture covers each tab
        rows = {t.pk: t for t in threads}
        made = busy["threads"]
        # Opened, a reply unread, but normal (the commons): no count. The circle is tracked: counted, ranges too.
        assert rows[made[9].pk].opened and rows[made[9].pk].unread_count is None
        assert rows[made[1].pk].unread_count == 1 and rows[made[7].pk].unread_count == 2
        assert made[3].pk not in rows  # muted by hand


@pytest.mark.parametrize("who", READERS)
def test_the_answered_questions_are_the_orms(busy, world, who):
    user = getattr(world, who)
    now = timezone.now()
    page = queries.member_page(user, Tab.LATEST, now=now, offset=0, limit=5, summary=queries.member_summary(user))
    expected = orm_questions(user, now)
    assert [(t.pk, t.unread_count, t.accepted_answer_id) for t in page.questions] == [
        (t.pk, t.unread_count, t.accepted_answer_id) for t in expected
    ]
    if who in ("member", "owner"):
        assert expected


@pytest.mark.parametrize("who", READERS)
def test_the_summary_and_the_queues_are_the_dashboards(busy, world, who):
    user = getattr(world, who)
    summary = queries.member_summary(user)
    memberships = list(
        Membership.objects.filter(user=user, state=Membership.State.ACTIVE)
        .select_related("community")
        .order_by("community__name", "community_id")
    )
    assert [(m.pk, m.role, m.joined_at) for m in summary.memberships] == [
        (m.pk, m.role, m.joined_at) for m in memberships
    ]
    expected = []
    for m in memberships:
        if not m.is_facilitator:
            continue
        flagged = {f.post_id for f in discussion_queries.open_flags(m.community)}
        counts = (
            community_queries.pending_count(m.community),
            len(flagged),
            len(discussion_queries.held_posts(m.community)),
        )
        if any(counts):
            expected.append((m.community.slug, *counts))
    assert [(w.community.slug, w.requests, w.flags, w.held) for w in summary.waiting] == expected
    if who == "facilitator":
        assert ("commons", 1, 1, 1) in expected


@pytest.mark.parametrize("who", READERS)
def test_the_upcoming_events_are_the_orms(busy, world, who):
    user = getattr(world, who)
    now = timezone.now()
    shown = queries.upcoming_events(user, now, queries.member_summary(user))
    answer = RSVP.objects.filter(event=OuterRef("pk"), user=user).values("answer")[:1]
    expected = list(
        Event.objects.visible_to(user)
        .filter(
            community__in=Membership.objects.filter(user=user, state=Membership.State.ACTIVE).values("community_id"),
            ends_at__gte=now,
            cancelled_at__isnull=True,
        )
        .annotate(my_answer=Subquery(answer))
        .order_by("starts_at", "pk")[: queries.HOME_EVENTS]
    )
    assert [(e.pk, e.my_answer, e.community.slug) for e in shown] == [
        (e.pk, e.my_answer, e.community.slug) for e in expected
    ]
    # My calendar reads the same events through the ORM, cancelled ones too.
    calendar = [e.pk for e in queries.calendar_events(user, now) if e.cancelled_at is None]
    assert calendar[: queries.HOME_EVENTS] == [e.pk for e in expected]


def test_muted_threads_and_communities_leave_every_list_and_count_unless_a_level_was_chosen_by_hand(busy, world):
    now = timezone.now()
    made = busy["threads"]
    in_circle = [t for t in made if t.community_id == world.private.pk]
    pages = {tab: sql_page(world.facilitator, tab, now, page_size=50)[1] for tab in queries.TABS}
    listed = {t.pk for t in pages[Tab.LATEST]}
    # Fern muted the circle: only the thread she watches by hand is left of it, with its unread count.
    assert [t.pk for t in in_circle if t.pk in listed] == [made[1].pk]
    kept = next(t for t in pages[Tab.UNREAD] if t.pk == made[1].pk)
    assert kept.unread_count == 1
    assert listed and {t.community_id for t in pages[Tab.LATEST]} == {world.public.pk, world.private.pk}
    # Mira muted one thread of the commons by hand.
    mira = {tab: sql_page(world.member, tab, now, page_size=50)[1] for tab in queries.TABS}
    assert all(made[3].pk not in {t.pk for t in threads} for threads in mira.values())


@pytest.mark.parametrize("who", READERS)
def test_unread_counts_are_the_community_lists_threads_the_member_tracks_or_watches(busy, world, who):
    """The home's rows and each community's list agree on which threads show and what each row's count is."""
    user = getattr(world, who)
    _first, threads = sql_page(user, Tab.LATEST, timezone.now(), page_size=50)
    home = {t.pk: (t.community_id, t.unread_count) for t in threads}
    for membership in queries.member_summary(user).memberships:
        community = membership.community
        listed: dict[int, tuple[int, int | None]] = {}
        offset = 0
        while True:
            rows, _total, _muted = discussion_queries.thread_list_page(community, user, offset=offset, markers=True)
            listed.update({t.pk: (t.community_id, t.unread_count) for t in rows})
            if not rows:
                break
            offset += len(rows)
        here = {pk: row for pk, row in home.items() if row[0] == community.pk}
        if membership.effective_watch_level == WatchLevel.MUTED:
            # A muted community's own list still shows its threads; the home keeps those given a level by hand.
            assert here and {pk: listed[pk] for pk in here} == here, community.slug
        else:
            assert here == listed, community.slug
    if who == "member":
        counted = {pk for pk, (_c, count) in home.items() if count}
        assert counted and counted == {t.pk for t in orm_tab(user, Tab.UNREAD, timezone.now())}


def test_counts_stop_at_the_cap(busy, world, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    page = queries.member_page(
        world.member, Tab.LATEST, now=timezone.now(), offset=0, limit=5, summary=queries.member_summary(world.member)
    )
    assert page.counts[Tab.LATEST] == 3 and len(page.threads) == 5


# --- The embedded default ---------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor == "sqlite", reason="this run is on SQLite already")
@pytest.mark.timeout(900)  # a whole file again on SQLite: slower than the 300 s a single test gets
def test_the_member_homes_statements_hold_on_sqlite_too():
    assert_passes_on_sqlite(__file__)
