"""Read tracking by post: post numbers, read positions, what a page marks, what the counts count.

A member's place in a thread is the highest post number up to which every
post was shown to them, plus the posts shown past it (discussions/reading.py).
A page marks read the posts it rendered and nothing more; "new" markers, the
lists' unread counts and "jump to first unread" come from that, and counts
never include a post the reader may not read.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from communities import policy
from communities.models import Membership, WatchLevel
from discussions import queries, services
from discussions.models import Post, ReadState, Thread
from discussions.reading import RANGES_MAX, UNREAD_COUNTED, Position, unread_label
from tests import factories
from tests.concurrency import run_together

PER_PAGE = 5


@pytest.fixture
def short_pages(settings):
    settings.POSTS_PER_PAGE = PER_PAGE
    settings.PAGE_CACHE_SECONDS = 0


def position_of(user, thread) -> Position | None:
    state = ReadState.objects.filter(user=user, thread=thread).first()
    return state.position if state is not None else None


def numbers_in_tree_order(thread) -> list[int]:
    return list(Post.objects.filter(thread=thread).order_by("path").values_list("number", flat=True))


# --- The position itself ------------------------------------------------------------------


def test_shown_posts_fold_into_the_prefix_as_the_gaps_fill():
    start = Position()
    page_one = start.with_shown([1, 2, 4, 5, 6])  # a nested page: post 3 sits on a later page
    assert (page_one.upto, page_one.ranges) == (2, ((4, 6),))
    assert [n for n in range(1, 9) if page_one.has_read(n)] == [1, 2, 4, 5, 6]
    page_three = page_one.with_shown(range(11, 16))  # a later page first (a notification's link)
    assert page_three.ranges == ((4, 6), (11, 15))
    page_two = page_three.with_shown([3, 7, 8, 9, 10])
    assert page_two == Position(15)
    assert page_two.with_shown([2, 5]) == page_two  # reading again moves nothing
    assert Position(3).with_upto(2) == Position(3) and Position(3).with_upto(9) == Position(9)


@given(st.lists(st.sets(st.integers(min_value=1, max_value=80), max_size=12), max_size=15))
def test_a_position_reads_exactly_what_was_shown_and_never_moves_back(pages):
    position, shown = Position(), set()
    for page in pages:
        moved = position.with_shown(page)
        shown |= page
        assert moved.upto >= position.upto
        assert all(moved.has_read(n) for n in range(1, 81) if position.has_read(n))
        position = moved
        # Exactly the posts shown (80 numbers make at most 40 pairs: under the bound).
        assert {n for n in range(1, 90) if position.has_read(n)} == shown
        expected_upto = 0
        while expected_upto + 1 in shown:
            expected_upto += 1
        assert position.upto == expected_upto
        pairs = position.ranges
        assert all(a <= b for a, b in pairs) and all(b + 1 < c for (_, b), (c, _) in pairwise(pairs))
        assert not pairs or pairs[0][0] > position.upto + 1
        assert Position.stored(position.upto, position.as_json()) == position


def test_past_its_bound_a_position_forgets_the_highest_posts_and_never_reads_one_not_shown():
    every_other = list(range(3, 3 + 4 * RANGES_MAX, 2))  # 2 * RANGES_MAX separate pairs
    position = Position().with_shown(every_other)
    assert len(position.ranges) == RANGES_MAX
    assert all(n in every_other for n in range(1, 5 * RANGES_MAX) if position.has_read(n))
    assert position.has_read(every_other[0]) and not position.has_read(every_other[-1])
    assert len(str(position.as_json())) < 2500  # a few hundred bytes to a couple of kilobytes


@pytest.mark.parametrize(
    "stored",
    [None, "x", {"a": 1}, [[3]], [[5, 4]], [["1", "2"]], [[True, 2]], [[0, 3]], [[-4, -1]], [None, [7, 8]]],
)
def test_a_malformed_stored_record_is_ignored_not_trusted(stored):
    position = Position.stored(2, stored)
    assert position.upto == 2
    assert all(1 <= a <= b for a, b in position.ranges)
    if stored == [None, [7, 8]]:
        assert position.ranges == ((7, 8),)


def test_unread_labels_stop_at_the_cap():
    assert unread_label(7) == "7" and unread_label(UNREAD_COUNTED - 1) == "99"
    assert unread_label(UNREAD_COUNTED) == "99+"


# --- Post numbers -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_posts_are_numbered_in_the_order_written_held_ones_included(world, make_user):
    newcomer = make_user("nina")
    factories.membership(newcomer, world.public)
    thread = factories.thread(world.facilitator, world.public, title="Numbers")
    first = services.reply(world.owner, thread, "first")
    held = services.reply(newcomer, thread, "held, with a link", suspected_spam=True)
    nested = services.reply(world.facilitator, thread, "under the first", parent=first)
    last = services.reply(world.owner, thread, "last")
    assert held.is_held
    thread.refresh_from_db()
    assert thread.opening_post.number == 1 and thread.highest_post_number == 5
    assert [p.number for p in (first, held, nested, last)] == [2, 3, 4, 5]
    assert numbers_in_tree_order(thread) == [1, 2, 4, 3, 5]  # pages show tree order, numbers say when
    with pytest.raises(IntegrityError), transaction.atomic():
        Post.objects.filter(pk=last.pk).update(number=4)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_replies_posted_at_the_same_instant_take_distinct_numbers(world, make_user):
    people = [make_user(f"p{i}") for i in range(8)]
    Membership.objects.bulk_create([Membership(user=p, community=world.public) for p in people])
    thread = factories.thread(world.facilitator, world.public, title="Busy")
    opening = thread.opening_post
    results = run_together(
        *[
            (lambda p=p, i=i: services.reply(p, thread, f"at once {i}", parent=opening if i % 2 else None))
            for i, p in enumerate(people)
        ]
    )
    assert all(isinstance(r, Post) for r in results), results
    thread.refresh_from_db()
    numbers = sorted(Post.objects.filter(thread=thread).values_list("number", flat=True))
    assert numbers == list(range(1, 10)) and thread.highest_post_number == 9
    # The number follows the order the posts were written (the lock orders them).
    by_time = list(Post.objects.filter(thread=thread).order_by("created_at", "pk").values_list("number", flat=True))
    assert by_time == numbers


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_pages_loaded_at_once_both_count(world):
    thread = factories.thread(world.facilitator, world.public, title="Tabs", replies=14, by=world.owner)
    services.mark_read(world.member, thread, [1])
    state = ReadState.objects.get(user=world.member, thread=thread)
    stale = ReadState.objects.get(pk=state.pk)
    # Page 2 and page 3 in two tabs, both from the same position: neither may undo the other.
    run_together(
        lambda: services.mark_read(world.member, thread, range(6, 11), state=state),
        lambda: services.mark_read(world.member, thread, range(11, 16), state=stale),
    )
    position = position_of(world.member, thread)
    assert {n for n in range(1, 16) if position.has_read(n)} == {1, *range(6, 16)}


@pytest.mark.django_db
def test_a_position_written_by_someone_else_meanwhile_is_merged_not_overwritten(world):
    thread = factories.thread(world.facilitator, world.public, title="Tabs", replies=14, by=world.owner)
    services.mark_read(world.member, thread, [1, 2])
    stale = ReadState.objects.get(user=world.member, thread=thread)
    services.mark_read(world.member, thread, range(3, 11))  # another tab got there first
    services.mark_read(world.member, thread, [12], state=stale)
    position = position_of(world.member, thread)
    assert position.upto == 10 and position.ranges == ((12, 12),)


# --- Existing rows migrate ------------------------------------------------------------------


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


@pytest.mark.django_db(transaction=True)
def test_existing_posts_are_numbered_and_read_times_become_positions():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old = _migrate([("discussions", "0011_post_state")])._create_project_state(with_applied_migrations=True).apps
    try:
        User = old.get_model("accounts", "User")
        Community = old.get_model("communities", "Community")
        OldThread = old.get_model("discussions", "Thread")
        OldPost = old.get_model("discussions", "Post")
        OldReadState = old.get_model("discussions", "ReadState")
        now = timezone.now()
        reader = User.objects.create(username="reader", email="reader@example.org")
        writer = User.objects.create(username="writer", email="writer@example.org")
        community = Community.objects.create(name="Old", slug="old", domain="Before numbers.")
        thread = OldThread.objects.create(community=community, title="Old thread", author=writer)
        quiet = OldThread.objects.create(community=community, title="Quiet", author=writer)
        other = OldThread.objects.create(community=community, title="Other", author=writer)

        def post(t, minutes, path="", depth=1, parent=None):
            return OldPost.objects.create(
                thread=t,
                author=writer,
                parent=parent,
                depth=depth,
                path=path,
                body="x",
                body_html="x",
                created_at=now + timedelta(minutes=minutes),
            )

        opening = post(thread, 0, depth=0)
        a = post(thread, 1, "000001", parent=opening)
        b = post(thread, 5, "000002", parent=opening)
        # Written third, though its id is higher than a later one's: time decides, then the id.
        a1 = post(thread, 3, "000001000001", depth=2, parent=a)
        c = post(thread, 9, "000003", parent=opening)
        tie = post(thread, 9, "000004", parent=opening)
        post(quiet, 0, depth=0)
        for minutes in (0, 1, 2):
            post(other, minutes, depth=0 if minutes == 0 else 1, path="" if minutes == 0 else f"00000{minutes}")
        # Read after a1 and b, before c: posts 1..4 (opening, a, a1, b) were read.
        OldReadState.objects.create(user=reader, thread=thread, last_read_at=now + timedelta(minutes=6))
        OldReadState.objects.create(user=reader, thread=other, last_read_at=now + timedelta(hours=1))
        OldReadState.objects.create(user=writer, thread=other, last_read_at=now - timedelta(hours=1))
        ids = {"opening": opening.pk, "a": a.pk, "a1": a1.pk, "b": b.pk, "c": c.pk, "tie": tie.pk}
    finally:
        _migrate(latest)

    numbers = dict(Post.objects.filter(pk__in=ids.values()).values_list("pk", "number"))
    assert {name: numbers[pk] for name, pk in ids.items()} == {"opening": 1, "a": 2, "a1": 3, "b": 4, "c": 5, "tie": 6}
    assert Thread.objects.get(pk=thread.pk).highest_post_number == 6
    assert Thread.objects.get(pk=quiet.pk).highest_post_number == 1
    assert ReadState.objects.get(user_id=reader.pk, thread_id=thread.pk).position == Position(4)
    assert ReadState.objects.get(user_id=reader.pk, thread_id=other.pk).position == Position(3)
    assert ReadState.objects.get(user_id=writer.pk, thread_id=other.pk).position == Position(0)
    # New posts continue the numbering.
    from accounts.models import User as CurrentUser

    Membership.objects.create(user_id=writer.pk, community_id=community.pk)
    tie_post = Post.objects.get(pk=ids["tie"])
    reply = services.reply(CurrentUser.objects.get(pk=writer.pk), tie_post.thread, "new", parent=tie_post)
    assert reply.number == 7


# --- What a page marks --------------------------------------------------------------------------


@pytest.fixture
def long_thread(world, short_pages):
    """Fern asks; Olive and Fern reply fourteen times: three pages of five."""
    return factories.thread(
        world.facilitator, world.public, title="Handover", replies=14, by=[world.owner, world.facilitator]
    )


@pytest.mark.django_db
def test_a_page_marks_its_own_posts_read_and_no_others(client, world, long_thread):
    client.force_login(world.member)
    url = long_thread.get_absolute_url()
    client.get(url)
    assert position_of(world.member, long_thread) == Position(5)
    client.get(url + "?page=3")
    assert position_of(world.member, long_thread) == Position(5, ((11, 15),))
    client.get(url + "?page=2")
    assert position_of(world.member, long_thread) == Position(15)


@pytest.mark.django_db
def test_reading_an_earlier_page_again_writes_nothing_and_moves_nothing_back(
    client, world, long_thread, django_assert_max_num_queries
):
    client.force_login(world.member)
    url = long_thread.get_absolute_url()
    client.get(url + "?page=3")
    client.get(url)
    moved = ReadState.objects.get(user=world.member, thread=long_thread)
    with django_assert_max_num_queries(6) as captured:
        client.get(url)
    assert not [q for q in captured.captured_queries if "UPDATE" in q["sql"] or "INSERT" in q["sql"]]
    again = ReadState.objects.get(user=world.member, thread=long_thread)
    assert (again.position, again.last_read_at) == (moved.position, moved.last_read_at)


@pytest.mark.django_db
def test_new_markers_show_what_was_new_when_the_page_was_asked_for(client, world, long_thread):
    client.force_login(world.member)
    url = long_thread.get_absolute_url()
    first = client.get(url).content.decode()
    assert "is-unread" not in first  # a first visit: everything is new, nothing is marked
    services.reply(world.owner, long_thread, "Sixteenth")
    last = client.get(url + "?page=4").content.decode()
    assert last.count("is-unread") == 1  # page 4 holds the new reply alone
    third = client.get(url + "?page=3").content.decode()
    assert third.count("is-unread") == 5
    assert client.get(url + "?page=3").content.decode().count("is-unread") == 0


@pytest.mark.django_db
def test_a_held_post_not_shown_is_not_marked_and_counts_once_approved(client, world, make_user, long_thread):
    newcomer = make_user("nina")
    factories.membership(newcomer, world.public)
    client.force_login(world.member)
    url = long_thread.get_absolute_url()
    for page in (1, 2, 3):
        client.get(f"{url}?page={page}")
    held = services.reply(newcomer, long_thread, "Waiting for review", suspected_spam=True)  # post 16, page 4
    services.reply(world.owner, long_thread, "Seventeenth")
    client.get(f"{url}?page=4")
    assert position_of(world.member, long_thread) == Position(15, ((17, 17),))
    assert queries.unread_counts(world.member, [long_thread.pk]) == {long_thread.pk: 0}
    services.approve_post(world.facilitator, held)
    assert queries.unread_counts(world.member, [long_thread.pk]) == {long_thread.pk: 1}
    target = client.get(f"/c/commons/t/{long_thread.pk}/unread/")["Location"]
    assert target.endswith(f"?page=4#post-{held.pk}")


@pytest.mark.django_db
def test_people_who_cannot_post_here_leave_no_read_position(client, world, long_thread):
    for user in (world.outsider, world.pending):
        client.force_login(user)
        assert client.get(long_thread.get_absolute_url()).status_code == 200
        assert position_of(user, long_thread) is None
    client.logout()
    client.get(long_thread.get_absolute_url())
    assert ReadState.objects.filter(thread=long_thread).exclude(user=world.facilitator).count() == 0


@pytest.mark.django_db
def test_starting_a_thread_reads_its_opening_post(world):
    thread = factories.thread(world.member, world.public, title="Mine")
    assert position_of(world.member, thread) == Position(1)
    assert queries.unread_counts(world.member, [thread.pk]) == {thread.pk: 0}


@pytest.mark.django_db
def test_a_hosted_chat_page_marks_every_post_it_shows(client, world):
    from events import services as events

    event = factories.event(
        world.facilitator, world.public, starts=timedelta(minutes=-5), questions=[(0, "What works at night?")]
    )
    events.run_chats(timezone.now())
    event.refresh_from_db()
    services.reply(world.owner, event.thread, "An answer")
    client.force_login(world.member)
    assert client.get(event.thread.get_absolute_url()).status_code == 200
    thread = Thread.objects.get(pk=event.thread_id)
    assert position_of(world.member, thread) == Position(thread.highest_post_number)


# --- Jump to first unread ------------------------------------------------------------------------


@pytest.mark.django_db
def test_jump_to_first_unread_follows_the_pages_of_a_nested_thread(client, world, short_pages):
    thread = factories.thread(world.facilitator, world.public, title="Nested")
    first = services.reply(world.owner, thread, "First branch")  # 2
    second = services.reply(world.owner, thread, "Second branch")  # 3, shown on page 3
    under = factories.replies(thread, 8, by=world.facilitator, under=first)  # 4..11
    client.force_login(world.member)
    never = client.get(f"/c/commons/t/{thread.pk}/unread/")["Location"]
    assert never.endswith(f"/t/{thread.pk}/#post-{thread.opening_post.pk}")  # never opened: the start
    client.get(thread.get_absolute_url())  # shows 1, 2, 4, 5, 6
    assert position_of(world.member, thread) == Position(2, ((4, 6),))
    assert client.get(f"/c/commons/t/{thread.pk}/unread/")["Location"].endswith(f"?page=2#post-{under[3].pk}")
    for page in (2, 3):
        client.get(f"{thread.get_absolute_url()}?page={page}")
    assert position_of(world.member, thread) == Position(11)
    done = client.get(f"/c/commons/t/{thread.pk}/unread/")["Location"]
    assert done == thread.get_absolute_url()  # nothing unread: the thread
    assert second.number == 3


@pytest.mark.django_db
def test_jump_to_first_unread_skips_posts_the_reader_may_not_read_and_their_own(client, world, long_thread):
    services.mark_read(world.member, long_thread)
    hidden = services.reply(world.owner, long_thread, "Hidden")
    services.hide_post(world.facilitator, hidden, "No")
    services.reply(world.member, long_thread, "Mine")
    visible = services.reply(world.owner, long_thread, "Readable")
    client.force_login(world.member)
    assert client.get(f"/c/commons/t/{long_thread.pk}/unread/")["Location"].endswith(f"#post-{visible.pk}")
    client.force_login(world.facilitator)
    services.mark_read(world.facilitator, long_thread, range(1, 16))
    assert client.get(f"/c/commons/t/{long_thread.pk}/unread/")["Location"].endswith(f"#post-{hidden.pk}")


# --- Counts: who may read what -----------------------------------------------------------------


@pytest.fixture
def mixed(world, make_user):
    """A thread with a post in every state by others and by Mira, and a held thread by Mira (all read up to post 2)."""
    newcomer = make_user("nina")
    factories.membership(newcomer, world.public)
    thread = factories.thread(world.facilitator, world.public, title="Mixed", replies=1, by=world.owner)
    for user in (world.member, world.facilitator, world.owner, world.admin, newcomer):
        services.mark_read(user, thread)
    services.reply(newcomer, thread, "held of someone else", suspected_spam=True)
    services.reply(world.member, thread, "held of Mira's", suspected_spam=True)
    hidden = services.reply(world.owner, thread, "hidden")
    services.hide_post(world.facilitator, hidden, "No")
    mine_hidden = services.reply(world.member, thread, "Mira's, hidden")
    services.hide_post(world.facilitator, mine_hidden, "No")
    deleted = services.reply(world.owner, thread, "deleted")
    services.delete_post(world.owner, deleted)
    services.reply(world.owner, thread, "visible")
    services.reply(world.member, thread, "Mira's visible")
    held_thread = factories.thread(world.member, world.public, title="Mira's held", suspected_spam=True)
    services.reply(world.facilitator, held_thread, "A facilitator answers")
    return thread, held_thread


def oracle(user, thread) -> int | None:
    """Unread by definition: readable_by (the one visibility rule), not theirs, not shown."""
    position = position_of(user, thread)
    if position is None:
        return None
    numbers = Post.objects.readable_by(user).filter(thread=thread).exclude(author=user).values_list("number", flat=True)
    return len(position.unread_numbers(numbers))


READERS = ["member", "facilitator", "owner", "admin", "outsider"]


@pytest.mark.django_db
@pytest.mark.parametrize("who", READERS)
def test_counts_are_the_readable_posts_never_shown(world, mixed, who):
    user = getattr(world, who)
    thread, held_thread = mixed
    # Posts 3-9: held (Nina's, Mira's), hidden (Olive's, Mira's), deleted (Olive's), visible (Olive's, Mira's).
    expected = {"member": 1, "facilitator": 7, "owner": 4, "admin": 7, "outsider": None}[who]
    assert oracle(user, thread) == expected
    counts = queries.unread_counts(user, [thread.pk, held_thread.pk])
    assert counts[thread.pk] == expected
    # The held thread: Mira's own (she read her opening post: the answer is new), the facilitators'
    # (never opened), and nobody else's at all.
    if who == "member":
        assert counts[held_thread.pk] == 1 == oracle(user, held_thread)
    elif who in ("facilitator", "owner", "admin"):
        assert counts[held_thread.pk] is None
    else:
        assert held_thread.pk not in counts


@pytest.mark.django_db
@pytest.mark.parametrize(
    "who", ["anonymous", "outsider", "pending", "banned", "member", "facilitator", "owner", "admin"]
)
def test_the_lists_readable_posts_are_readable_by(world, mixed, who):
    """policy.readable_listed_posts_q (the list's SQL follows it) is readable_by within the threads the list shows."""
    user = AnonymousUser() if who == "anonymous" else getattr(world, who)
    community = world.public
    listed = Thread.objects.listed_in(community, user)
    in_list = Post.objects.filter(thread__in=listed)
    expected = set(in_list.readable_by(user).values_list("pk", flat=True))
    got = set(in_list.filter(policy.readable_listed_posts_q(user, community)).values_list("pk", flat=True))
    assert got == expected and expected


@pytest.mark.django_db
def test_unread_counts_leave_out_threads_the_reader_may_not_see(world, conversation):
    services.mark_read(world.outsider, conversation.private_thread)  # a position from before (say, they left)
    services.reply(world.owner, conversation.private_thread, "Quokka news")
    assert queries.unread_counts(world.outsider, [conversation.private_thread.pk]) == {}
    assert queries.unread_counts(AnonymousUser(), [conversation.thread.pk]) == {}
    assert queries.unread_counts(world.member, []) == {}
    assert queries.unread_counts(world.member, [conversation.private_thread.pk]) == {conversation.private_thread.pk: 1}


@pytest.mark.django_db
def test_unread_counts_cost_one_query_for_one_or_many_threads(world, django_assert_num_queries):
    threads = [factories.thread(world.owner, world.public, title=f"T{i}", replies=2, by=world.owner) for i in range(12)]
    for thread in threads[::2]:
        services.mark_read(world.member, thread, [1])
    with django_assert_num_queries(1):
        one = queries.unread_counts(world.member, [threads[0].pk])
    with django_assert_num_queries(1):
        many = queries.unread_counts(world.member, [t.pk for t in threads])
    assert one == {threads[0].pk: 2}
    assert many == {t.pk: (2 if i % 2 == 0 else None) for i, t in enumerate(threads)}


@pytest.mark.django_db
def test_a_count_stops_at_the_cap_and_the_list_says_99_plus(client, world, settings):
    settings.PAGE_CACHE_SECONDS = 0
    thread = factories.thread(world.facilitator, world.public, title="Very long")
    Post.objects.bulk_create(
        [
            Post(
                thread=thread,
                author=world.owner,
                parent=thread.opening_post,
                depth=1,
                path=f"{i:06d}",
                number=i + 1,
                body="x",
                body_html="x",
                body_text="x",
            )
            for i in range(1, UNREAD_COUNTED + 21)
        ]
    )
    Thread.objects.filter(pk=thread.pk).update(highest_post_number=UNREAD_COUNTED + 21)
    services.mark_read(world.member, thread, [1])
    services.set_thread_level(world.member, thread, WatchLevel.TRACKING)  # lists count what she tracks
    assert queries.unread_counts(world.member, [thread.pk]) == {thread.pk: UNREAD_COUNTED}
    client.force_login(world.member)
    page = client.get("/c/commons/").content.decode()
    assert ">99+ new<" in page


@pytest.mark.django_db
def test_a_members_community_page_costs_the_same_queries_with_few_or_many_unread_threads(
    client, world, settings, django_assert_max_num_queries
):
    settings.PAGE_CACHE_SECONDS = 0
    client.force_login(world.member)
    # Lists count unread posts in what a member tracks (watching levels): she tracks the community.
    Membership.objects.filter(user=world.member, community=world.public).update(watch_level=WatchLevel.TRACKING)

    def add(count):
        for i in range(count):
            thread = factories.thread(world.owner, world.public, title=f"Busy {i}", replies=3, by=world.facilitator)
            services.mark_read(world.member, thread, [1, 3])

    add(2)
    client.get("/c/commons/")  # the day's visit is recorded once
    with django_assert_max_num_queries(20) as small:
        client.get("/c/commons/")
    add(25)
    with django_assert_max_num_queries(len(small)) as large:
        page = client.get("/c/commons/").content.decode()
    assert len(large) == len(small)
    assert page.count(">2 new<") == 20  # a full page of threads, each with posts 2 and 4 unread


# --- Digests -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_digest_still_offers_a_reply_on_a_page_never_shown(client, world, long_thread):
    from core.models import OutboundEmail
    from digests import building, planning

    Membership.objects.filter(user=world.facilitator, community=world.public).update(digest_cadence="daily")
    type(world.facilitator).objects.filter(pk=world.facilitator.pk).update(digest_hour=0)
    replies = list(Post.objects.filter(thread=long_thread, depth=1).order_by("number"))
    on_page_one, on_page_two = replies[2], replies[6]  # posts 4 and 8, Olive's
    assert on_page_one.author == on_page_two.author == world.owner
    Post.objects.filter(pk=on_page_one.pk).update(body_text="Seen on page one", helpful_count=2)
    Post.objects.filter(pk=on_page_two.pk).update(body_text="Never shown to Fern", helpful_count=2)
    client.force_login(world.facilitator)
    client.get(long_thread.get_absolute_url())  # Fern reads page 1 only
    now = timezone.now() + timedelta(hours=1)
    ids = planning.plan(now)
    building.build(ids, now)
    mail = OutboundEmail.objects.get(to=world.facilitator.email, kind="digest")
    assert "Never shown to Fern" in mail.body_text
    assert "Seen on page one" not in mail.body_text
