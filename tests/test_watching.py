"""Watching levels: how closely a member follows a thread or a community, as in Discourse.

Watching tells of every post, tracking shows unread counts, normal tells of
replies and mentions only, muted keeps a thread out of lists, digests and
notifications altogether. Authors and repliers track their threads;
facilitators watch their community's new threads. A level chosen by hand
always wins.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from accounts.models import User
from communities import policy
from communities import services as community_services
from communities.models import Membership, WatchLevel
from core.db import fetch_all
from digests import building, planning
from discussions import queries, services
from discussions.models import Post, Thread, ThreadWatch, thread_level
from discussions.views.threads import thread_list_panel
from notifications.models import Notification
from tests import factories

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
Reason = ThreadWatch.Reason


def told(user: User, post: Post) -> set[str]:
    """The kinds of notification ``user`` got about ``post``."""
    return set(Notification.objects.filter(user=user, post=post).values_list("kind", flat=True))


def watch_of(user: User, thread: Thread) -> tuple[str, str] | None:
    row = ThreadWatch.objects.filter(user=user, thread=thread).first()
    return None if row is None else (row.level, row.reason)


def bell_page(client: Client, user: User) -> str:
    client.force_login(user)
    return client.get("/notifications/").content.decode()


# --- Defaults --------------------------------------------------------------------------------


def test_starting_a_thread_or_replying_in_it_tracks_it(world, conversation):
    assert watch_of(world.member, conversation.thread) == ("tracking", "created")
    assert watch_of(world.facilitator, conversation.thread) == ("tracking", "replied")
    assert watch_of(world.owner, conversation.thread) == ("tracking", "replied")
    assert watch_of(world.outsider, conversation.thread) is None
    # Replying again changes nothing; a held reply tracks too (its author wants to hear back).
    services.reply(world.member, conversation.thread, "Thanks all")
    assert watch_of(world.member, conversation.thread) == ("tracking", "created")


def test_a_level_chosen_by_hand_survives_replying(world, conversation):
    services.set_thread_level(world.facilitator, conversation.thread, WatchLevel.NORMAL)
    services.reply(world.facilitator, conversation.thread, "One more thought")
    assert watch_of(world.facilitator, conversation.thread) == ("normal", "by_hand")
    thread = factories.thread(world.owner, world.public, title="Owner's")
    services.set_thread_level(world.member, thread, WatchLevel.MUTED)
    services.reply(world.member, thread, "Muted, but still replying")
    assert watch_of(world.member, thread) == ("muted", "by_hand")


def test_facilitators_watch_new_threads_by_default_and_a_role_change_moves_it(world):
    def level(user):
        return Membership.objects.get(user=user, community=world.public).effective_watch_level

    assert level(world.owner) == level(world.facilitator) == WatchLevel.WATCHING_FIRST_POST
    assert level(world.member) == WatchLevel.NORMAL
    mira = Membership.objects.get(user=world.member, community=world.public)
    community_services.set_role(world.owner, world.public, mira.pk, Membership.Role.FACILITATOR)
    assert level(world.member) == WatchLevel.WATCHING_FIRST_POST
    fern = Membership.objects.get(user=world.facilitator, community=world.public)
    community_services.set_role(world.owner, world.public, fern.pk, Membership.Role.MEMBER)
    assert level(world.facilitator) == WatchLevel.NORMAL
    # Chosen by hand, it stays whatever the role becomes.
    community_services.set_watch_level(world.member, world.public, WatchLevel.MUTED)
    community_services.set_role(world.owner, world.public, mira.pk, Membership.Role.MEMBER)
    assert level(world.member) == WatchLevel.MUTED


# --- Notifications -------------------------------------------------------------------------


def test_facilitators_hear_of_each_new_thread_and_nobody_outside_does(world, conversation, client):
    thread = services.start_thread(world.member, world.public, title="Bed rails at night", body="Ideas?")
    opening = thread.opening_post
    assert told(world.facilitator, opening) == told(world.owner, opening) == {Kind.NEW_THREAD}
    for person in (world.member, world.outsider, world.pending, world.banned, world.other_facilitator, world.admin):
        assert told(person, opening) == set(), person
    assert "<strong>Mira Member</strong> started “Bed rails at night”" in bell_page(client, world.facilitator)
    # Its replies are not news to someone watching only for new threads.
    reply = services.reply(world.member, thread, "Anyone?")
    assert told(world.facilitator, reply) == set()


def test_a_held_thread_is_announced_when_approved_not_before(world, conversation):
    thread = services.start_thread(world.member, world.public, title="Links", body="x", suspected_spam=True)
    # Facilitators are told it waits for review (the bell's "held"), not that it started.
    assert told(world.facilitator, thread.opening_post) == {Kind.HELD}
    services.approve_post(world.owner, thread.opening_post)
    # Announced as Mira's thread, to both facilitators, once it is public.
    assert Kind.NEW_THREAD in told(world.facilitator, thread.opening_post)
    assert Kind.NEW_THREAD in told(world.owner, thread.opening_post)


def test_a_private_communitys_new_threads_reach_only_its_own_facilitators(world, conversation):
    opening = conversation.private_thread.opening_post
    assert told(world.facilitator, opening) == {Kind.NEW_THREAD}
    assert told(world.other_facilitator, opening) == set()
    # A facilitator banned since (or gone) is told nothing more.
    fern = Membership.objects.get(user=world.facilitator, community=world.private)
    community_services.remove_member(world.owner, world.private, fern.pk, ban=True)
    later = services.start_thread(world.member, world.private, title="After Fern", body="x").opening_post
    assert told(world.facilitator, later) == set() and told(world.owner, later) == {Kind.NEW_THREAD}


def test_watching_a_thread_tells_of_every_post_once_with_the_most_personal_kind(world, conversation, client):
    thread = factories.thread(world.owner, world.public, title="Charting hourly")
    services.set_thread_level(world.member, thread, WatchLevel.WATCHING)
    first = services.reply(world.facilitator, thread, "Charting helps")
    second = services.reply(world.owner, thread, "Agreed", parent=first)
    mine = services.reply(world.member, thread, "I chart too")
    answer = services.reply(world.facilitator, thread, "Good to hear", parent=mine)
    mention = services.reply(world.owner, thread, "@mira what scale?")
    assert told(world.member, first) == told(world.member, second) == {Kind.WATCHING}
    assert told(world.member, mine) == set()  # not of her own post
    assert told(world.member, answer) == {Kind.REPLY}
    assert told(world.member, mention) == {Kind.MENTION}
    page = bell_page(client, world.member)
    # One row for the thread (the bell groups a conversation), naming both who posted, newest first.
    assert page.count("“Charting hourly”") == 1
    assert "<strong>Olive Owner and Fern Facilitator</strong> replied in" in page
    # An edit is not a new post: watchers hear nothing more.
    services.edit_post(world.facilitator, first, "Charting helps a lot")
    assert Notification.objects.filter(user=world.member, post=first).count() == 1


def test_watching_a_community_tells_of_new_threads_and_every_post(world, conversation):
    community_services.set_watch_level(world.member, world.public, WatchLevel.WATCHING)
    thread = services.start_thread(world.owner, world.public, title="New here", body="x")
    reply = services.reply(world.facilitator, conversation.thread, "Later thought", parent=conversation.answer)
    assert told(world.member, thread.opening_post) == {Kind.NEW_THREAD}
    assert told(world.member, reply) == {Kind.WATCHING}
    # A thread level chosen by hand wins over the community's.
    services.set_thread_level(world.member, thread, WatchLevel.NORMAL)
    assert told(world.member, services.reply(world.owner, thread, "Quiet now")) == set()


def test_a_muted_thread_never_notifies_not_even_a_reply_or_a_mention(world, conversation, client):
    thread = conversation.thread  # Mira started it
    services.set_thread_level(world.member, thread, WatchLevel.MUTED)
    reply = services.reply(world.facilitator, thread, "To you, Mira")  # under her opening post
    mention = services.reply(world.owner, thread, "@mira have a look", parent=conversation.answer)
    answer = services.reply(world.facilitator, thread, "In reply to you", parent=mention)
    for post in (reply, mention, answer):
        assert told(world.member, post) == set()
    assert (
        Notification.objects.filter(user=world.member, post__thread=thread, created_at__gte=reply.created_at).count()
        == 0
    )
    assert "To you, Mira" not in bell_page(client, world.member)
    # Others are told as before.
    assert told(world.facilitator, services.reply(world.owner, thread, "Fern?", parent=answer)) == {Kind.REPLY}


def test_an_accepted_answer_in_a_muted_thread_is_not_announced(world, conversation):
    question = factories.thread(world.owner, world.public, title="Which scale?", kind="question")
    answer = services.reply(world.member, question, "Abbey")
    services.set_thread_level(world.member, question, WatchLevel.MUTED)
    services.accept_answer(world.owner, question, answer)
    assert told(world.member, answer) == set()
    services.set_thread_level(world.member, question, WatchLevel.NORMAL)
    services.accept_answer(world.owner, question, None)
    services.accept_answer(world.owner, question, answer)
    assert told(world.member, answer) == {Kind.ACCEPTED}


def test_a_muted_thread_never_notifies_even_someone_watching_its_community(world, conversation):
    community_services.set_watch_level(world.member, world.public, WatchLevel.WATCHING)
    thread = factories.thread(world.owner, world.public, title="Not for me")
    services.set_thread_level(world.member, thread, WatchLevel.MUTED)
    assert told(world.member, services.reply(world.facilitator, thread, "@mira look")) == set()


def test_a_muted_community_tells_nothing_unless_a_thread_level_was_chosen_by_hand(world, conversation):
    community_services.set_watch_level(world.member, world.public, WatchLevel.MUTED)
    # Her own thread, tracked because she started it: the muted community silences it.
    reply = services.reply(world.facilitator, conversation.thread, "@mira anything new?")
    assert told(world.member, reply) == set()
    new = services.start_thread(world.owner, world.public, title="Fresh", body="x")
    assert told(world.member, new.opening_post) == set()
    # A thread she chose to watch by hand still tells her.
    services.set_thread_level(world.member, new, WatchLevel.WATCHING)
    assert told(world.member, services.reply(world.facilitator, new, "Hello")) == {Kind.WATCHING}


def test_watchers_who_may_no_longer_read_are_not_told(world, conversation):
    services.set_thread_level(world.member, conversation.private_thread, WatchLevel.WATCHING)
    hello = services.reply(world.facilitator, conversation.private_thread, "Hi")  # a reply to Mira's opening post
    welcome = services.reply(world.owner, conversation.private_thread, "Welcome", parent=hello)
    assert told(world.member, hello) == {Kind.REPLY} and told(world.member, welcome) == {Kind.WATCHING}
    community_services.leave(world.member, world.private)
    post = services.reply(world.facilitator, conversation.private_thread, "After Mira left")
    assert told(world.member, post) == set()


def test_who_may_read_agrees_with_the_policy_for_every_person_and_state(world, conversation):
    """policy.readers_q (who is told) against can_view_thread and can_see_post_content (who may look)."""
    held = services.start_thread(world.member, world.public, title="Held", body="x", suspected_spam=True)
    hidden = services.reply(world.owner, conversation.thread, "hide me")
    services.hide_post(world.facilitator, hidden, "off topic")
    deleted = services.reply(world.member, conversation.thread, "delete me")
    services.delete_post(world.member, deleted)
    inactive = factories.membership(User.objects.create_user("ian", "ian@example.org", is_active=False), world.public)
    people = [
        world.member,
        world.outsider,
        world.admin,
        world.owner,
        world.facilitator,
        world.pending,
        world.banned,
        world.other_facilitator,
        inactive.user,
    ]
    cases = [
        (conversation.thread, conversation.answer),
        (conversation.private_thread, conversation.private_thread.opening_post),
        (held, held.opening_post),
        (conversation.thread, Post.objects.get(pk=hidden.pk)),
        (conversation.thread, Post.objects.get(pk=deleted.pk)),
    ]
    for thread, post in cases:
        thread = Thread.objects.select_related("community").get(pk=thread.pk)
        post.thread = thread
        readers = set(User.objects.filter(policy.readers_q(thread, post)).values_list("pk", flat=True))
        for person in people:
            person = User.objects.get(pk=person.pk)
            may = (
                person.is_active
                and policy.can_view_thread(person, thread)
                and policy.can_see_post_content(person, post)
            )
            assert (person.pk in readers) == may, (thread.title, post.state, person.username)


# --- The rules as filters agree with thread_level -----------------------------------------

THREAD_ROWS = [
    None,
    ("tracking", "created"),
    *[(level, "by_hand") for level in ("watching", "tracking", "normal", "muted")],
]
COMMUNITY_LEVELS = ["", *WatchLevel.values]


@pytest.mark.parametrize("role", [Membership.Role.MEMBER, Membership.Role.FACILITATOR])
def test_the_filters_say_what_thread_level_says_for_every_combination(world, role):
    people, threads = [], []
    for i, (row, community_level) in enumerate(itertools.product(THREAD_ROWS, COMMUNITY_LEVELS)):
        person = User.objects.create_user(f"p{i}", f"p{i}@example.org")
        factories.membership(person, world.public, role=role, watch_level=community_level)
        thread = factories.thread(world.owner, world.public, title=f"T{i}")
        if row:
            ThreadWatch.objects.create(user=person, thread=thread, level=row[0], reason=row[1])
        people.append(person)
        threads.append(thread)
    for person, thread in zip(people, threads, strict=True):
        level = thread_level(
            ThreadWatch.objects.filter(user=person, thread=thread).first(),
            Membership.objects.get(user=person, community=world.public),
        )
        muted = User.objects.filter(pk=person.pk).filter(queries.muted_by_q(thread)).exists()
        watching = User.objects.filter(pk=person.pk).filter(queries.watching_q(thread)).exists()
        listed = Thread.objects.filter(pk=thread.pk).filter(queries.unmuted_threads_q(person)).exists()
        annotated = queries.level_of(queries.with_levels(Thread.objects.filter(pk=thread.pk), person).get())
        assert muted == level.muted == (not listed), (person.username, level)
        assert watching == (level.value == WatchLevel.WATCHING), (person.username, level)
        assert annotated == level
        # The written form a list across communities uses (the member home): tracked and not muted.
        assert written_levels(person, thread, list(Membership.objects.filter(user=person))) == (
            level.tracked,
            not level.muted,
        ), (person.username, level)
        # Outside the community (or not in good standing there) only the thread's own row decides.
        alone = thread_level(ThreadWatch.objects.filter(user=person, thread=thread).first(), None)
        assert written_levels(person, thread, []) == (alone.tracked, not alone.muted), (person.username, alone)


def written_levels(person: User, thread: Thread, memberships: list[Membership]) -> tuple[bool, bool]:
    """``queries.levels_sql``'s tracked and unmuted for one thread, as the member home's statement asks them."""
    levels = queries.levels_sql(person, memberships)
    sql = f"SELECT {levels.tracked}, {levels.unmuted} FROM {Thread._meta.db_table} t {levels.join} WHERE t.id = %s"  # noqa: S608
    row = fetch_all(sql, [*levels.tracked_params, *levels.unmuted_params, *levels.join_params, thread.pk])[0]
    return bool(row[0]), bool(row[1])


# --- Lists ---------------------------------------------------------------------------------


def listed(community, user, query=""):
    from django.test import RequestFactory

    request = RequestFactory().get(f"/c/{community.slug}/?{query}")
    request.user = user
    return thread_list_panel(request, community).context


def test_a_muted_thread_leaves_the_members_list_and_waits_in_the_muted_view(world, conversation, client):
    other = factories.thread(world.owner, world.public, title="Gone quiet for Mira")
    services.set_thread_level(world.member, other, WatchLevel.MUTED)
    client.force_login(world.member)
    page = client.get("/c/commons/").content.decode()
    assert "Gone quiet for Mira" not in page and "How do you assess pain" in page
    assert 'href="?show=muted">Muted (1)</a>' in page
    muted = client.get("/c/commons/?show=muted").content.decode()
    assert "Gone quiet for Mira" in muted and "How do you assess pain" not in muted
    assert "Unmute<span" in muted
    # Others still see it, and have no "Muted" view.
    fern = [t.title for t in listed(world.public, world.facilitator)["page"].object_list]
    assert "Gone quiet for Mira" in fern and listed(world.public, world.facilitator)["muted_count"] == 0
    anonymous = listed(world.public, AnonymousUser(), "show=muted")
    assert "Gone quiet for Mira" in [t.title for t in anonymous["page"].object_list] and not anonymous["muted"]
    # Unmute from the muted view: back to the list, and to the view it came from.
    response = client.post(f"/c/commons/t/{other.pk}/watch/", {"level": "normal", "back": "muted"})
    assert response.status_code == 302 and response["Location"] == "/c/commons/?show=muted"
    page = client.get("/c/commons/").content.decode()
    assert "Gone quiet for Mira" in page and "?show=muted" not in page


def test_muting_costs_the_list_no_query_and_the_count_agrees_with_the_orm(
    world, conversation, client, django_assert_max_num_queries, settings
):
    settings.PAGE_CACHE_SECONDS = 0
    client.force_login(world.member)
    client.get("/c/commons/")
    with django_assert_max_num_queries(100) as before:
        client.get("/c/commons/")
    for i in range(3):
        services.set_thread_level(world.member, factories.thread(world.owner, world.public, title=f"M{i}"), "muted")
    with django_assert_max_num_queries(len(before)) as after:
        client.get("/c/commons/?show=muted")
    with django_assert_max_num_queries(len(before)):
        client.get("/c/commons/")
    assert len(after) == len(before)
    expected = Thread.objects.listed_in(world.public, world.member).filter(queries.muted_threads_q(world.member))
    context = listed(world.public, world.member, "show=muted")
    assert context["muted_count"] == 3 == expected.count()
    assert {t.pk for t in context["page"].object_list} == set(expected.values_list("pk", flat=True))


def test_a_cross_community_list_leaves_out_muted_threads_and_muted_communities(world, conversation):
    elsewhere = factories.thread(world.owner, world.private, title="Private, muted by hand")
    services.set_thread_level(world.member, elsewhere, WatchLevel.MUTED)
    community_services.set_watch_level(world.member, world.public, WatchLevel.MUTED)
    kept = factories.thread(world.owner, world.public, title="Watched by hand in a muted community")
    services.set_thread_level(world.member, kept, WatchLevel.WATCHING)
    mine = Thread.objects.visible_to(world.member).filter(queries.unmuted_threads_q(world.member))
    titles = set(mine.values_list("title", flat=True))
    assert titles == {"Yak canary case", "Watched by hand in a muted community"}
    gone = Thread.objects.visible_to(world.member).filter(queries.muted_threads_q(world.member))
    assert set(gone.values_list("title", flat=True)) == {"How do you assess pain in delirium?", elsewhere.title}
    # Nobody else is affected.
    assert Thread.objects.visible_to(world.owner).filter(queries.unmuted_threads_q(world.owner)).count() == 4
    assert queries.unmuted_threads_q(AnonymousUser()) == queries.Q()


def test_normal_threads_show_new_but_no_unread_marker_tracked_ones_do(world, conversation):
    normal = factories.thread(world.owner, world.public, title="Read, normal")
    tracked = factories.thread(world.owner, world.public, title="Read, tracked")
    services.set_thread_level(world.member, tracked, WatchLevel.TRACKING)
    never = factories.thread(world.owner, world.public, title="Never opened")
    for thread in (normal, tracked):
        services.mark_read(world.member, thread)
        services.reply(world.facilitator, thread, "Something new")
    rows = {t.title: t for t in listed(world.public, world.member)["page"].object_list}
    assert rows["Never opened"].unread and rows["Never opened"].level.value == "normal"
    assert rows["Read, tracked"].unread and rows["Read, tracked"].level.tracked
    assert not rows["Read, normal"].unread and not rows["Read, normal"].level.tracked
    assert never.pk


# --- Digests -------------------------------------------------------------------------------


def test_digests_leave_out_muted_threads_and_muted_communities(world, conversation):
    from core.models import OutboundEmail

    for community in (world.public, world.private):
        Membership.objects.filter(user=world.member, community=community).update(digest_cadence="daily")
    type(world.member).objects.filter(pk=world.member.pk).update(digest_hour=0)
    quiet = factories.thread(world.owner, world.public, title="Muted thread title")
    loud = factories.thread(world.owner, world.public, title="Kept thread title")
    services.set_thread_level(world.member, quiet, WatchLevel.MUTED)
    factories.thread(world.owner, world.private, title="Private circle news")
    now = timezone.now() + timedelta(hours=1)
    building.build(planning.plan(now), now)
    mail = OutboundEmail.objects.get(to=world.member.email, kind="digest")
    assert "Kept thread title" in mail.body_text and "Private circle news" in mail.body_text
    assert "Muted thread title" not in mail.body_text + mail.body_html
    assert loud.pk
    # A muted community is out of the next digest altogether.
    community_services.set_watch_level(world.member, world.private, WatchLevel.MUTED)
    # Written between the two digests (the first is not sent yet, so the next one's window is its own day).
    between = now + timedelta(hours=1)
    factories.thread(world.owner, world.private, title="More circle news", created_at=between)
    factories.thread(world.owner, world.public, title="Later public news", created_at=between)
    later = now + timedelta(days=1)
    building.build(planning.plan(later), later)
    mail = OutboundEmail.objects.filter(to=world.member.email, kind="digest").order_by("-created_at").first()
    assert "Later public news" in mail.body_text
    assert "circle" not in mail.body_text.lower() and "Zebra Quince" not in mail.body_text


# --- The watching control --------------------------------------------------------------------


def test_the_thread_page_shows_the_control_with_the_level_and_why(world, conversation, client):
    url = conversation.thread.get_absolute_url()
    client.force_login(world.facilitator)
    page = client.get(url).content.decode()
    assert 'class="watch-control"' in page and 'aria-current="true"' in page
    assert "Now: Tracking. Because you replied in this thread." in page
    for label in ("Watching", "Tracking", "Normal", "Muted"):
        assert f'<span class="watch-option-name" id="watch-thread-{label.lower()}">{label}' in page
    assert "Be told about every new post in this thread." in page
    # Nobody but members: visitors, outsiders and pending people see no control.
    for user in (None, world.outsider, world.pending, world.admin):
        if user is None:
            client.logout()
        else:
            client.force_login(user)
        assert "watch-control" not in client.get(url).content.decode()


def test_setting_a_level_with_the_plain_form_and_with_htmx(world, conversation, client):
    thread = conversation.thread
    client.force_login(world.facilitator)
    response = client.post(f"/c/commons/t/{thread.pk}/watch/", {"level": "watching"}, follow=True)
    assert response.redirect_chain[-1][0] == thread.get_absolute_url()
    page = response.content.decode()
    assert "You&#39;re watching this thread: you&#39;ll be told about every new post." in page
    assert 'aria-describedby="watch-thread-watching-help" aria-current="true"' in page
    assert watch_of(world.facilitator, thread) == ("watching", "by_hand")
    response = client.post(f"/c/commons/t/{thread.pk}/watch/", {"level": "muted"}, HTTP_HX_REQUEST="true")
    fragment = response.content.decode()
    assert response.status_code == 200 and fragment.lstrip().startswith('<div class="watch-control" id="watch-thread">')
    assert 'role="status">You muted this thread' in fragment and "<html" not in fragment
    assert watch_of(world.facilitator, thread) == ("muted", "by_hand")


def test_the_community_page_shows_the_control_and_sets_the_level(world, conversation, client):
    client.force_login(world.facilitator)
    page = client.get("/c/commons/").content.decode()
    assert "Because you are a facilitator here." in page and "Watching new threads" in page
    response = client.post("/c/commons/watch/", {"level": "muted"}, follow=True)
    assert "You muted Ward Commons" in response.content.decode()
    assert Membership.objects.get(user=world.facilitator, community=world.public).watch_level == "muted"
    response = client.post("/c/commons/watch/", {"level": "tracking"}, HTTP_HX_REQUEST="true")
    assert 'id="watch-community"' in response.content.decode() and "<html" not in response.content.decode()
    client.force_login(world.outsider)
    assert "watch-control" not in client.get("/c/commons/").content.decode()


@pytest.mark.parametrize("level", ["loud", "", "watching_first_post", "MUTED", "muted\x00", "' OR 1=1 --"])
def test_an_unknown_thread_level_is_refused_and_changes_nothing(world, conversation, client, level):
    client.force_login(world.facilitator)
    response = client.post(f"/c/commons/t/{conversation.thread.pk}/watch/", {"level": level})
    assert response.status_code == 400 and b"Choose one of the watching levels." in response.content
    assert watch_of(world.facilitator, conversation.thread) == ("tracking", "replied")


def test_an_unknown_community_level_is_refused(world, client):
    client.force_login(world.member)
    response = client.post("/c/commons/watch/", {"level": "everything"})
    assert response.status_code == 400
    assert Membership.objects.get(user=world.member, community=world.public).watch_level == ""


def test_a_thread_or_community_the_person_cant_see_is_a_404(world, conversation, client):
    client.force_login(world.outsider)
    private = conversation.private_thread
    for url in (f"/c/circle/t/{private.pk}/watch/", f"/c/commons/t/{private.pk}/watch/", "/c/circle/watch/"):
        response = client.post(url, {"level": "watching"})
        assert response.status_code == 404, url
        assert b"Yak" not in response.content and b"Zebra" not in response.content
    held = services.start_thread(world.member, world.public, title="Held one", body="x", suspected_spam=True)
    assert client.post(f"/c/commons/t/{held.pk}/watch/", {"level": "watching"}).status_code == 404
    assert client.post("/c/commons/t/999999/watch/", {"level": "watching"}).status_code == 404
    assert not ThreadWatch.objects.filter(user=world.outsider).exists()


def test_not_a_member_is_refused_and_visitors_are_sent_to_log_in(world, conversation, client):
    url = f"/c/commons/t/{conversation.thread.pk}/watch/"
    # A site admin who is not a member neither: watchers are told only as members.
    for person in (world.outsider, world.pending, world.banned, world.other_facilitator, world.admin):
        client.force_login(person)
        for target in (url, "/c/commons/watch/"):
            response = client.post(target, {"level": "watching"})
            assert response.status_code == 403, (person.username, target)
            assert b"Only members can choose how closely they follow" in response.content
    assert not ThreadWatch.objects.filter(user__in=[world.outsider, world.pending, world.banned, world.admin]).exists()
    client.logout()
    response = client.post(url, {"level": "watching"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get(url).status_code == 405 and client.get("/c/commons/watch/").status_code == 405


def test_the_control_needs_the_csrf_token(world, conversation):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.member)
    response = client.post(f"/c/commons/t/{conversation.thread.pk}/watch/", {"level": "muted"})
    assert response.status_code == 403
    assert watch_of(world.member, conversation.thread) == ("tracking", "created")
    assert client.post("/c/commons/watch/", {"level": "muted"}).status_code == 403


def test_changing_levels_too_fast_is_limited(world, conversation, client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "watch": ("2/60", None)}
    client.force_login(world.member)
    url = f"/c/commons/t/{conversation.thread.pk}/watch/"
    assert client.post(url, {"level": "watching"}).status_code == 302
    assert client.post(url, {"level": "normal"}).status_code == 302
    response = client.post(url, {"level": "muted"})
    assert response.status_code == 429 and response["Retry-After"]
    assert watch_of(world.member, conversation.thread) == ("normal", "by_hand")


# --- Existing data ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_existing_authors_and_repliers_track_their_threads_after_the_migration():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    def migrate(targets) -> MigrationExecutor:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        return MigrationExecutor(connection)

    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old = migrate([("discussions", "0011_post_state")])._create_project_state(with_applied_migrations=True).apps
    try:
        OldUser = old.get_model("accounts", "User")
        Community = old.get_model("communities", "Community")
        OldThread = old.get_model("discussions", "Thread")
        OldPost = old.get_model("discussions", "Post")
        ann, ben, cat = (OldUser.objects.create(username=n, email=f"{n}@example.org") for n in ("ann", "ben", "cat"))
        community = Community.objects.create(name="Old", slug="old", domain="Before watching levels.")
        started = OldThread.objects.create(community=community, title="Ann's", author=ann)
        orphan = OldThread.objects.create(community=community, title="Nobody's", author=None)
        rows = [
            (started, ann, 0, ""),
            (started, ben, 1, "000001"),
            (started, ben, 1, "000002"),
            (started, ann, 1, "000003"),
            (started, None, 1, "000004"),
            (orphan, cat, 1, "000001"),
        ]
        for thread, author, depth, path in rows:
            OldPost.objects.create(thread=thread, author=author, depth=depth, path=path, body="b", body_html="b")
    finally:
        migrate(latest)

    found = set(
        ThreadWatch.objects.filter(thread__community__slug="old").values_list(
            "user__username", "thread__title", "level", "reason"
        )
    )
    assert found == {
        ("ann", "Ann's", "tracking", "created"),
        ("ben", "Ann's", "tracking", "replied"),
        ("cat", "Nobody's", "tracking", "replied"),
    }
