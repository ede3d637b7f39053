"""The statements still written out in SQL (core.db.Columns, each in its app's queries.py), checked against the ORM.

A community's thread list, the thread page's thread (a page of its posts:
tests/test_thread_page_query.py), a community with the reader's membership,
the facilitators, the pinned resources and the bell's first look are written
out because the ORM version cost their page more than 20 % of its CPU, or
would have taken the page under the benchmark's bar with the others (the
numbers are beside each statement and in the README, "Pages are fast").
Here each one gives what the ORM gives, for every kind of reader, on
whichever database the suite runs; the last test runs this file again on
SQLite (the embedded default), where dates come back as text and need the
ORM's converters.
"""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.http import Http404
from django.test import RequestFactory
from django.utils import timezone

from communities import policy
from communities.models import Community, Membership, WatchLevel
from communities.queries import facilitators_of
from core.db import Columns, fetch_all
from discussions import services
from discussions.models import ReadState, Thread
from discussions.queries import thread_for_reader
from discussions.views.threads import thread_list_panel
from resources.models import Resource
from tests import factories
from tests.sqlite import assert_passes_on_sqlite
from tests.test_layers import RANK

pytestmark = pytest.mark.django_db


def test_columns_build_what_the_orm_loads(conversation, world):
    thread = conversation.thread
    columns = Columns(Thread, "t", exclude=["search_vector"])
    sql = f"SELECT {columns.sql} FROM {Thread._meta.db_table} t WHERE t.id = %s"  # noqa: S608
    row = fetch_all(sql, [thread.pk])[0]
    built = columns.build(row)
    orm = Thread.objects.get(pk=thread.pk)
    for attname in columns.attnames:
        assert getattr(built, attname) == getattr(orm, attname), attname
    assert built.created_at.tzinfo is not None and built.tag_names == ["assessment", "delirium"]
    assert built.get_deferred_fields() == {"search_vector"} and not built._state.adding
    # A LEFT JOIN's miss is no instance at all.
    assert Columns(Membership, "m").build((None,) * Columns(Membership, "m").width) is None


def test_a_column_subset_keeps_the_rest_deferred(world):
    columns = Columns(Membership, "m", fields=["role", "joined_at"])
    assert columns.attnames == ["id", "role", "joined_at"]
    row = fetch_all(
        f"SELECT {columns.sql} FROM {Membership._meta.db_table} m WHERE m.user_id = %s AND m.community_id = %s",  # noqa: S608
        [world.facilitator.pk, world.public.pk],
    )[0]
    membership = columns.build(row)
    assert membership.role == Membership.Role.FACILITATOR
    assert "state" in membership.get_deferred_fields()
    assert membership.state == Membership.State.ACTIVE  # loaded on use, like the ORM's only()


# --- The community page's thread list -------------------------------------------------


@pytest.fixture
def busy(world, conversation):
    """45 threads of three kinds and two tags, one pinned, one held for review (by Mira), some replied to."""
    public = world.public
    threads = [conversation.thread]
    kinds = ["discussion", "question", "story"]
    for i in range(44):
        threads.append(
            services.start_thread(
                (world.member, world.owner, world.facilitator)[i % 3],
                public,
                title=f"Thread {i}",
                body=f"Body {i}",
                kind=kinds[i % 3],
                tags=["odd" if i % 2 else "even", "all"],
            )
        )
    services.mark_read(world.member, threads[1])
    services.mark_read(world.member, threads[2])
    services.reply(world.facilitator, threads[2], "Since Mira last looked")  # read before its last activity
    base = timezone.now() - timedelta(days=10)
    for i, thread in enumerate(threads):  # distinct activity times: one order, whatever the clock did
        Thread.objects.filter(pk=thread.pk).update(last_activity_at=base + timedelta(minutes=i * 7 % 45))
    services.set_thread_state(world.facilitator, threads[5], "pin")
    Thread.objects.filter(pk=threads[7].pk).update(held_at=timezone.now(), author=world.member)
    Thread.objects.filter(pk=threads[8].pk).update(held_at=timezone.now(), author=world.owner)
    return threads


def orm_list(community, user, kind="", tag=""):
    """The list through the ORM: the one definition of what a community's list shows (``Thread.objects.listed_in``)."""
    threads = Thread.objects.listed_in(Community.objects.get(pk=community.pk), user)
    if kind:
        threads = threads.filter(kind=kind)
    if tag:
        threads = threads.filter(tags__name=tag)
    return list(threads.order_by("-pinned", "-last_activity_at").values_list("pk", flat=True))


def panel(community, user, query=""):
    request = RequestFactory().get(f"/c/{community.slug}/?{query}")
    request.user = user
    return thread_list_panel(request, community).context


@pytest.mark.parametrize("who", ["anonymous", "outsider", "member", "owner", "facilitator", "admin"])
@pytest.mark.parametrize("filters", [{}, {"kind": "question"}, {"tag": "odd"}, {"kind": "story", "tag": "even"}])
def test_every_page_of_the_list_is_the_orms_for_every_reader_and_filter(busy, world, who, filters):
    user = AnonymousUser() if who == "anonymous" else getattr(world, who)
    expected = orm_list(world.public, user, **filters)
    per_page = settings.THREADS_PER_PAGE
    pages = max(1, -(-len(expected) // per_page))
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    seen = []
    for number in range(1, pages + 1):
        context = panel(world.public, user, f"{query}&page={number}")
        page = context["page"]
        assert (page.number, page.paginator.num_pages, page.paginator.count) == (number, pages, len(expected))
        seen += [t.pk for t in page.object_list]
    assert seen == expected and expected


def test_held_threads_show_to_their_author_and_facilitators_only(busy, world):
    held_by_mira, held_by_olive = busy[7].pk, busy[8].pk

    def listed(user):
        return {t.pk for n in (1, 2, 3) for t in panel(world.public, user, f"page={n}")["page"].object_list}

    assert held_by_mira in listed(world.member) and held_by_olive not in listed(world.member)
    assert {held_by_mira, held_by_olive} <= listed(world.facilitator)
    assert not {held_by_mira, held_by_olive} & (listed(AnonymousUser()) | listed(world.outsider))


def test_rows_carry_people_and_the_members_unread_markers(busy, world):
    own = Thread.objects.get(pk=busy[4].pk)  # Mira started it: she tracks it
    services.reply(world.owner, own, "Since Mira last looked")  # she has read her opening post only
    rows = {t.pk: t for n in (1, 2, 3) for t in panel(world.public, world.member, f"page={n}")["page"].object_list}
    replied = rows[busy[0].pk]
    assert replied.author.pk == world.member.pk and replied.author.name == "Mira Member"
    assert replied.reply_count == 2 and replied.last_poster.pk == world.owner.pk
    assert replied.last_poster.name == world.owner.name
    assert rows[busy[1].pk].unread is False and rows[busy[1].pk].unread_count == 0  # hers, read since its last activity
    # Read before it: a marker and a count for a thread she tracks, none for a normal one
    # (watching levels, as in Discourse).
    assert rows[busy[4].pk].unread is True and rows[busy[4].pk].level.tracked and rows[busy[4].pk].unread_count == 1
    assert rows[busy[2].pk].unread is False and not rows[busy[2].pk].level.tracked
    assert rows[busy[2].pk].unread_count is None
    assert rows[busy[3].pk].unread is True and rows[busy[3].pk].unread_count is None  # never opened
    assert rows[busy[4].pk].tag_names == sorted(rows[busy[4].pk].tag_names) and "all" in rows[busy[4].pk].tag_names
    assert rows[busy[5].pk].pinned and next(iter(rows)) == busy[5].pk  # the pinned thread leads the list
    # Nobody else has markers: not anonymous visitors, not people who can't post here.
    for user in (AnonymousUser(), world.outsider):
        assert not any(t.unread for t in panel(world.public, user)["page"].object_list)


@pytest.fixture
def readings(busy, world, make_user):
    """Posts in every state on three threads, and each reader's position in them: a prefix, ranges, nothing."""
    newcomer = make_user("nina")
    factories.membership(newcomer, world.public)
    people = (world.member, world.owner, world.facilitator, world.admin)
    for i, thread in enumerate((busy[0], busy[10], busy[11])):
        for j in range(9):
            author = (world.owner, world.member, world.facilitator, newcomer)[(i + j) % 4]
            post = services.reply(author, thread, f"Reply {j}", suspected_spam=author == newcomer and j % 2 == 0)
            if j == 4 and not post.is_held:
                services.hide_post(world.facilitator, post, "No")
            if j == 6 and not post.is_held:
                services.delete_post(world.admin, post)
        for k, person in enumerate(people):
            shown = [[1], [1, 2, 5, 6, 9], list(range(1, 13, 2)), [3, 4, 11]][(i + k) % 4]
            services.mark_read(person, thread, shown)
    # Lists count unread posts in the threads a member tracks (watching levels): they all track these.
    Membership.objects.filter(user__in=people, community=world.public).update(watch_level=WatchLevel.TRACKING)
    world.public.__dict__.pop("_membership_cache", None)  # the rows just changed under policy's cache
    return busy


@pytest.mark.parametrize("who", ["anonymous", "outsider", "member", "owner", "facilitator", "admin"])
def test_the_lists_unread_counts_are_the_orms(readings, world, who):
    """thread_list_page's counts (written SQL) = Thread.objects.with_unread (ORM, Post.objects.readable_by)."""
    user = AnonymousUser() if who == "anonymous" else getattr(world, who)
    listed = {t.pk: t for n in (1, 2, 3) for t in panel(world.public, user, f"page={n}")["page"].object_list}
    orm = dict(Thread.objects.listed_in(world.public, user).with_unread(user).values_list("pk", "unread_count"))
    markers = who not in ("anonymous", "outsider")
    # Only the threads they track carry a count in a list; a normal one they opened shows nothing.
    tracked = {pk for pk, t in listed.items() if markers and t.level.tracked}
    assert {pk: t.unread_count for pk, t in listed.items()} == {
        pk: count if pk in tracked else None for pk, count in orm.items()
    }
    assert {pk: t.unread for pk, t in listed.items()} == {
        pk: markers and (count is None or (pk in tracked and count > 0)) for pk, count in orm.items()
    }
    if who != "admin":  # members of the community track it; the site admin is not one
        assert tracked == (set(orm) if markers else set())
    if markers:  # the positions left something unread in each of the three threads
        assert all(orm[t.pk] for t in (readings[0], readings[10], readings[11]))


@pytest.mark.parametrize("asked", ["0", "-3", "99", "9" * 30, "x", ""])
def test_an_odd_page_number_shows_what_djangos_paginator_would(busy, world, asked):
    expected = orm_list(world.public, AnonymousUser())
    pages = -(-len(expected) // settings.THREADS_PER_PAGE)
    page = panel(world.public, AnonymousUser(), f"page={asked}")["page"]
    number = 1 if asked in ("x", "") else pages  # not a number: the first; out of range: the last
    assert page.number == number
    start = (number - 1) * settings.THREADS_PER_PAGE
    assert [t.pk for t in page.object_list] == expected[start : start + settings.THREADS_PER_PAGE]


def test_an_empty_list_and_an_unknown_tag_or_kind(world, conversation):
    assert list(panel(world.approval, AnonymousUser())["page"].object_list) == []
    assert panel(world.approval, AnonymousUser())["page"].paginator.num_pages == 1
    assert list(panel(world.public, AnonymousUser(), "tag=nope")["page"].object_list) == []
    # A kind the product doesn't have is no filter (and is not echoed back into the page's links).
    context = panel(world.public, AnonymousUser(), "kind=%27%3Bdrop")
    assert context["kind"] == "" and len(context["page"].object_list) == 1


def test_a_tag_named_like_sql_is_only_a_tag(busy, world):
    name = "x' OR 1=1 --"
    services.start_thread(world.member, world.public, title="Quoted", body="b", tags=[name])
    listed = panel(world.public, AnonymousUser(), "tag=x%27%20OR%201%3D1%20--")["page"].object_list
    assert [t.title for t in listed] == ["Quoted"]


# --- The thread page's thread, a community's page, the facilitators --------------------------


def test_the_thread_comes_with_the_readers_membership_and_read_marker(conversation, world, django_assert_num_queries):
    services.mark_read(world.member, conversation.thread)
    with django_assert_num_queries(1):
        thread, read_state = thread_for_reader(world.member, conversation.thread.pk)
        membership = policy.membership_of(world.member, thread.community)
        assert policy.can_reply(world.member, thread) and not policy.can_moderate(world.member, thread.community)
    assert thread.pk == conversation.thread.pk and thread.community.slug == "commons"
    assert membership.state == Membership.State.ACTIVE and membership.community is thread.community
    stored = ReadState.objects.get(user=world.member, thread=thread)
    assert read_state.last_read_at == stored.last_read_at and read_state.last_read_post_number == 3
    assert read_state.position == stored.position
    thread, read_state = thread_for_reader(world.outsider, conversation.thread.pk)
    assert read_state is None and policy.membership_of(world.outsider, thread.community) is None
    thread, read_state = thread_for_reader(AnonymousUser(), conversation.thread.pk)
    assert read_state is None and thread.reply_count == conversation.thread.reply_count


@pytest.mark.parametrize("who", ["anonymous", "outsider", "banned", "pending"])
def test_a_thread_the_reader_may_not_see_is_the_same_404_as_a_missing_one(conversation, world, who):
    user = AnonymousUser() if who == "anonymous" else getattr(world, who)
    with pytest.raises(Http404):
        thread_for_reader(user, conversation.private_thread.pk)
    for pk in (0, -1, 10**6, 2**63, 10**30):
        with pytest.raises(Http404):
            thread_for_reader(user, pk)


def test_a_held_thread_is_its_authors_and_the_facilitators(conversation, world):
    Thread.objects.filter(pk=conversation.thread.pk).update(held_at=timezone.now())
    assert thread_for_reader(world.member, conversation.thread.pk)[0].held_at is not None  # Mira started it
    assert thread_for_reader(world.facilitator, conversation.thread.pk)[0]
    for user in (world.outsider, AnonymousUser()):
        with pytest.raises(Http404):
            thread_for_reader(user, conversation.thread.pk)


def test_a_community_comes_with_the_readers_membership(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        community = policy.get_community_or_404(world.facilitator, "circle")
        assert policy.can_moderate(world.facilitator, community)
    assert community.name == "Zebra Quince Circle" and community.created_at.tzinfo is not None
    assert policy.membership_of(world.facilitator, community).role == Membership.Role.FACILITATOR
    for user in (AnonymousUser(), world.outsider, world.banned, world.pending):
        with pytest.raises(Http404):
            policy.get_community_or_404(user, "circle")
    with pytest.raises(Http404):
        policy.get_community_or_404(world.member, "no-such-place")
    assert policy.get_community_or_404(world.admin, "circle").pk == world.private.pk
    community = Community.objects.get(slug="commons")
    assert policy.get_community_or_404(world.outsider, "commons").description_html == community.description_html


def test_the_facilitators_owners_first_longest_serving_first_at_most_twelve(world, make_user):
    early = timezone.now() - timedelta(days=400)
    Membership.objects.filter(user=world.facilitator, community=world.public).update(joined_at=early)
    for i in range(14):
        factories.membership(
            make_user(f"helper{i:02d}"),
            world.public,
            role=Membership.Role.FACILITATOR,
            state=Membership.State.LEFT if i == 0 else Membership.State.ACTIVE,
            joined_at=early + timedelta(days=i + 1),
        )
    shown = facilitators_of(world.public)
    expected = list(
        Membership.objects.filter(
            community=world.public,
            state=Membership.State.ACTIVE,
            role__in=[Membership.Role.OWNER, Membership.Role.FACILITATOR],
        )
        .order_by("-role", "joined_at")
        .values_list("user__username", flat=True)[:12]
    )
    assert [m.user.username for m in shown] == expected
    assert expected[:2] == ["olive", "fern"] and "helper00" not in expected and len(shown) == 12
    assert shown[0].get_role_display() == "Owner" and shown[1].user.name == "Fern Facilitator"


def test_the_pinned_cards_are_the_orms(world, django_assert_num_queries):
    from resources import services as resource_services
    from resources.queries import pinned_cards as _pinned

    made = [
        factories.resource(
            world.member,
            world.public,
            kind="link",
            title=f"Resource {i}",
            url=f"https://example.org/{i}",
            tags=[f"shelf{i}", "all"][: 1 + i % 2],
        )
        for i in range(6)
    ]
    for resource in (made[4], made[1], made[2], made[5]):
        resource_services.set_pin(world.facilitator, resource, "pin")
    resource_services.start_discussion(world.member, made[1])
    resource_services.remove_resource(world.facilitator, made[5])  # removed: unpinned and gone
    Resource.objects.filter(pk=made[2].pk).update(added_by=None)  # its adder deleted their account
    expected = list(
        Resource.objects.filter(community=world.public, removed_at__isnull=True, pin_position__isnull=False)
        .select_related("added_by", "thread")
        .order_by("pin_position")
    )

    def card(r):
        return (
            r.title,
            r.pin_position,
            r.added_by.name if r.added_by else None,
            r.thread.reply_count if r.thread else None,
        )

    with django_assert_num_queries(2):  # the cards, their tags
        got = _pinned(world.public)
        shown = [card(r) for r in got]
        tags = [sorted(t.name for t in r.tags.all()) for r in got]
    assert shown == [card(r) for r in expected]
    assert [r.title for r in got] == ["Resource 4", "Resource 1", "Resource 2"]
    assert tags == [sorted(t.name for t in r.tags.all()) for r in expected]
    assert tags == [["shelf4"], ["all", "shelf1"], ["shelf2"]]
    assert shown[1][3] == 0 and shown[2][2] is None and got[0].get_absolute_url().startswith("/c/commons/")
    with django_assert_num_queries(1):  # nothing pinned: no tag query
        assert _pinned(world.private) == []


def test_the_bells_first_look_is_the_orms(world, conversation, django_assert_num_queries):
    from notifications.models import Notification
    from notifications.queries import has_unread

    services.reply(world.owner, conversation.thread, "Thanks @mira, and @fern too")
    Notification.objects.filter(user=world.facilitator).update(read_at=timezone.now())
    people = [world.member, world.facilitator, world.outsider, world.owner, world.admin]
    expected = {u.username: Notification.objects.filter(user=u, read_at__isnull=True).exists() for u in people}
    assert expected["mira"] and not expected["fern"] and not expected["otto"]
    with django_assert_num_queries(len(people)):
        assert {u.username: has_unread(u) for u in people} == expected


# --- Where written SQL may live ------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
# Statements that are not reads of a page, each where it belongs: a write no ORM call
# states in linear time, a lock, the health check's ping.
NOT_READS = {"digests/building.py", "accounts/names.py", "core/health.py"}


def written_sql(path: Path, root: Path = ROOT) -> list[str]:
    """Where ``path`` runs SQL of its own: fetch_all, Columns, a cursor, raw(), or a string that starts a SELECT."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in {"fetch_all", "Columns", "cursor", "raw"}:
                found.append(f"{path.relative_to(root)}:{node.lineno} {name}()")
        elif isinstance(node, ast.Constant) and str(node.value).lstrip().upper().startswith("SELECT "):
            found.append(f"{path.relative_to(root)}:{node.lineno} {str(node.value)[:30]!r}")
    return found


def test_written_statements_live_only_in_the_apps_queries_modules():
    """Views, the policy, context processors and the rest read through their app's queries.py."""
    offenders = []
    for package in RANK:
        for path in (ROOT / package).rglob("*.py"):
            where = str(path.relative_to(ROOT))
            if "migrations" in path.parts or path.name == "queries.py" or where in NOT_READS | {"core/db.py"}:
                continue
            offenders += written_sql(path)
    assert offenders == []


def test_the_check_sees_a_statement_in_a_view(tmp_path):
    view = tmp_path / "views.py"
    view.write_text('rows = fetch_all(f"SELECT 1 FROM {T} t", [])\nc = Columns(Thread, "t")\nconnection.cursor()\n')
    assert len(written_sql(view, tmp_path)) == 4


# --- The embedded default ---------------------------------------------------------------


@pytest.mark.skipif(connection.vendor == "sqlite", reason="this run is on SQLite already")
@pytest.mark.timeout(900)  # a whole file again on SQLite: slower than the 300 s a single test gets
def test_the_written_queries_hold_on_sqlite_too():
    assert_passes_on_sqlite(__file__)
