"""One visibility definition per model, used by every list.

A thread held for review is a 404 for everyone but its author and the
facilitators; so is everything derived from it: search hits (its title, the
replies inside it), profiles ("Replied in …"), feeds, sitemaps, digests, the
bell and notification emails. Hidden and deleted posts likewise. The list
definitions (``Thread.objects.visible_to``, ``Post.objects.readable_by``,
``Resource.objects.visible_to``, ``Event.objects.visible_to``) are checked
against the single-object policy for every role and state, so the two can
never drift apart.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail as django_mail
from django.utils import timezone

from communities import policy
from communities.models import Community, Membership
from core.models import OutboundEmail
from core.tasks import send_email
from digests import building, planning
from discussions import services as discussions
from discussions.models import Post, Thread
from events.models import Event
from notifications import email as notify
from notifications.models import Notification
from resources import services as resources
from resources.models import Resource
from tests import factories
from tests.bell import unread_on_bell

pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer(world, make_user):
    nina = make_user("nina", display_name="Nina Newcomer")
    factories.membership(nina, world.public)
    return nina


@pytest.fixture
def held(world, newcomer):
    """The finding's case: a newcomer's link-heavy thread waits for review; a facilitator answers inside it."""
    links = " ".join(f"https://shop{i}.example/" for i in range(5))
    thread = discussions.start_thread(newcomer, world.public, title="Glimmerwort miracle cure", body=f"See {links}")
    assert thread.held_at is not None
    reply = discussions.reply(world.facilitator, thread, "Glimmerwort has no evidence; holding this for now.")
    return thread, reply


# --- The finding, as the attacker saw it ---------------------------------------------------


def test_anonymous_search_finds_neither_the_held_title_nor_the_reply_inside(client, held):
    for query in ("Glimmerwort", "evidence"):
        for kind in ("", "threads", "replies"):
            page = client.get("/search/", {"q": query, "kind": kind}).content.decode()
            assert 'class="search-hit"' not in page and "no evidence" not in page
            assert f"Nothing found for “{query}”" in page


def test_the_repliers_public_profile_does_not_list_the_held_thread(client, world, held):
    page = client.get(f"/u/{world.facilitator.username}/").content.decode()
    assert "Glimmerwort" not in page
    client.force_login(world.member)  # a fellow member who is not the author
    assert "Glimmerwort" not in client.get(f"/u/{world.facilitator.username}/").content.decode()


def test_the_author_and_the_facilitators_still_find_it(client, world, newcomer, held):
    client.force_login(newcomer)
    assert 'class="search-hit"' in client.get("/search/", {"q": "Glimmerwort"}).content.decode()
    client.force_login(world.facilitator)
    assert "Glimmerwort" in client.get(f"/u/{world.facilitator.username}/").content.decode()


def test_feeds_and_sitemaps_leave_held_hidden_and_deleted_content_out(client, world, conversation, held):
    discussions.hide_post(world.facilitator, conversation.answer, "Off topic")
    hidden_opening = discussions.start_thread(world.member, world.public, title="Rota swaps", body="Phone 0123")
    discussions.hide_post(world.facilitator, hidden_opening.opening_post, "Personal details")
    feed = client.get("/c/commons/feeds/threads/").content.decode()
    assert "Glimmerwort" not in feed and "Phone 0123" not in feed
    assert "How do you assess pain in delirium?" in feed  # the published thread is there
    sitemap = client.get("/sitemap-threads.xml").content.decode()
    assert f"/t/{held[0].pk}/" not in sitemap and f"/t/{hidden_opening.pk}/" not in sitemap
    assert f"/t/{conversation.thread.pk}/" in sitemap


# --- The definitions agree with the single-object policy -------------------------------------


@pytest.fixture
def every_state(world, conversation, newcomer, held):
    """Threads and posts in every state, in a public and a private community."""
    discussions.reply(newcomer, conversation.thread, "Buy https://a.example/ https://b.example/", suspected_spam=True)
    hidden = discussions.reply(newcomer, conversation.thread, "A hidden remark")
    discussions.hide_post(world.facilitator, hidden, "Rude")
    deleted = discussions.reply(newcomer, conversation.thread, "A deleted remark")
    discussions.delete_post(newcomer, deleted)
    private_held = discussions.start_thread(
        world.member, world.private, title="Held inside", body="x", suspected_spam=True
    )
    discussions.reply(world.facilitator, private_held, "Answer inside a private held thread")
    discussions.hide_post(world.facilitator, conversation.private_thread.opening_post, "Private and hidden")
    factories.resource(world.member, world.public, title="Shown")
    removed = factories.resource(world.member, world.public, title="Gone")
    resources.remove_resource(world.member, removed)
    factories.resource(world.member, world.private, title="Inside")
    for community in (world.public, world.private):
        factories.event(world.facilitator, community, kind="call", title="Call", starts=timedelta(days=1))


def people(world, newcomer):
    return {
        "anonymous": AnonymousUser(),
        "outsider": world.outsider,
        "pending": world.pending,
        "banned": world.banned,
        "member": world.member,
        "author of held": newcomer,
        "facilitator": world.facilitator,
        "owner": world.owner,
        "facilitator elsewhere": world.other_facilitator,
        "site admin": world.admin,
    }


def test_list_definitions_match_the_single_object_policy_for_every_role_and_state(world, newcomer, every_state):
    threads = list(Thread.objects.select_related("community"))
    posts = list(Post.objects.select_related("thread__community"))
    all_resources = list(Resource.objects.select_related("community"))
    all_events = list(Event.objects.select_related("community"))
    assert {t.held_at is not None for t in threads} == {True, False}
    assert {p.state for p in posts} == set(Post.State.values)
    for role, user in people(world, newcomer).items():
        # Fresh instances per person: the policy caches memberships on the community.
        for t in threads:
            t.community.__dict__.pop("_membership_cache", None)
        expected_threads = {t.pk for t in threads if policy.can_view_thread(user, t)}
        assert set(Thread.objects.visible_to(user).values_list("pk", flat=True)) == expected_threads, role
        expected_posts = {
            p.pk for p in posts if policy.can_view_thread(user, p.thread) and policy.can_see_post_content(user, p)
        }
        assert set(Post.objects.readable_by(user).values_list("pk", flat=True)) == expected_posts, role
        expected_resources = {r.pk for r in all_resources if policy.can_view_resource(user, r)}
        assert set(Resource.objects.visible_to(user).values_list("pk", flat=True)) == expected_resources, role
        expected_events = {e.pk for e in all_events if policy.can_view_event(user, e)}
        assert set(Event.objects.visible_to(user).values_list("pk", flat=True)) == expected_events, role


def test_a_communitys_thread_list_is_its_visible_threads_for_every_role(world, newcomer, every_state):
    """``Thread.objects.listed_in`` (a community page's list, no subqueries) is ``visible_to`` narrowed to it."""
    held = set(Thread.objects.filter(held_at__isnull=False).values_list("community_id", flat=True))
    assert held == {world.public.pk, world.private.pk}
    for role, user in people(world, newcomer).items():
        for community in Community.objects.filter(pk__in=held):  # fresh rows: the policy caches memberships on them
            if not policy.can_view_community(user, community):
                continue
            listed = set(Thread.objects.listed_in(community, user).values_list("pk", flat=True))
            visible = set(Thread.objects.visible_to(user).filter(community=community).values_list("pk", flat=True))
            assert listed == visible, (role, community.slug)


def test_published_is_what_a_plain_member_may_read(world, every_state):
    """Digests and feeds use ``published()``: for a member who is neither author nor facilitator it is the same set."""
    member_sees = set(Post.objects.readable_by(world.member).filter(thread__community=world.public).values_list("pk"))
    published = set(Post.objects.published().filter(thread__community=world.public).values_list("pk"))
    assert member_sees == published


# --- Digests, the bell and notification emails (finding 3) ---------------------------------------


def test_a_digest_carries_no_held_thread_nor_a_reply_inside_one(world, held):
    for person in (world.member, world.facilitator):
        Membership.objects.filter(user=person, community=world.public).update(digest_cadence="daily")
        type(person).objects.filter(pk=person.pk).update(digest_hour=0)
    # The answer inside the held thread is found helpful: it would be a "best reply" candidate.
    Post.objects.filter(pk=held[1].pk).update(helpful_count=3)
    now = timezone.now() + timedelta(hours=1)
    building.build(planning.plan(now), now)
    for mail in OutboundEmail.objects.filter(kind="digest"):
        assert "Glimmerwort" not in mail.body_text + mail.body_html + mail.subject


def test_the_bell_and_the_list_drop_notifications_whose_post_was_hidden_or_deleted(client, world, conversation):
    mention = discussions.reply(world.facilitator, conversation.thread, "Quiet word for @mira about the rota")
    deleted = discussions.reply(world.owner, conversation.thread, "Typo for @mira, sorry")
    client.force_login(world.member)
    assert unread_on_bell(client.get("/").content.decode()) == 3
    discussions.hide_post(world.owner, mention, "Personal")
    discussions.delete_post(world.owner, deleted)
    page = client.get("/notifications/").content.decode()
    assert "rota" not in page and "Typo" not in page
    assert unread_on_bell(page) == 1


def test_a_post_hidden_before_the_sweep_is_never_mailed(world, conversation):
    """The finding: a reply hidden minutes after it was made still went out by email with its text."""
    thread = discussions.start_thread(world.member, world.public, title="Night handover", body="How do you do it?")
    note = discussions.reply(world.facilitator, thread, "Ill-judged remark @mira")
    discussions.hide_post(world.owner, note, "Ill-judged")
    notify.sweep(timezone.now())
    mails = OutboundEmail.objects.filter(to=world.member.email, subject__contains="Night handover")
    assert not mails.exists()
    assert Notification.objects.filter(post=note, emailed_at__isnull=False).exists()  # handled, not left pending


def test_a_post_deleted_after_the_sweep_but_before_sending_is_dropped_at_send_time(world, conversation, settings):
    """The sweep queued the email; the post is deleted while the mail waits (SMTP down, retries): it never goes out.

    The same email also told of Fern's earlier answer: that goes out, without the deleted reply
    (tests/test_notification_emails.py drops an email with nothing left).
    """
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    note = discussions.reply(
        world.facilitator, conversation.thread, "Wrong patient details", parent=conversation.opening
    )
    notify.sweep(timezone.now())
    row = OutboundEmail.objects.get(to=world.member.email, kind__startswith="notification")
    discussions.delete_post(world.facilitator, note)
    assert send_email.run(row.pk) == "sent"
    row.refresh_from_db()
    assert "Wrong patient" not in row.body_text + row.body_html
    assert not [m for m in django_mail.outbox if "Wrong patient" in m.body]
    assert [m for m in django_mail.outbox if "abbey" in m.body]


def test_an_email_still_readable_at_send_time_goes_out(world, conversation, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    discussions.reply(world.facilitator, conversation.thread, "Useful answer", parent=conversation.opening)
    notify.sweep(timezone.now())
    row = OutboundEmail.objects.get(to=world.member.email, kind__startswith="notification")
    assert send_email.run(row.pk) == "sent"
    assert any("Useful answer" in m.body for m in django_mail.outbox)


def test_a_member_who_left_between_sweep_and_send_gets_nothing_from_a_private_thread(world, conversation, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    discussions.reply(world.facilitator, conversation.private_thread, "Inside detail @mira")
    notify.sweep(timezone.now())
    row = OutboundEmail.objects.get(to=world.member.email, subject__contains="Yak canary case")
    Membership.objects.filter(user=world.member, community=world.private).update(state="left")
    assert send_email.run(row.pk) == "dropped"


def test_files_and_events_lists_follow_their_definitions(client, world):
    """A removed resource's file and a private community's events stay out of the lists that show them."""
    gone = factories.resource(
        world.member, world.public, kind="file", title="Withdrawn leaflet", file=("leaflet.txt", b"old advice\n")
    )
    resources.remove_resource(world.member, gone)
    assert "Withdrawn leaflet" not in client.get("/c/commons/feeds/resources/").content.decode()
    assert "Withdrawn leaflet" not in client.get(f"/u/{world.member.username}/").content.decode()
