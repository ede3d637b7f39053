"""Every write service says what it changed, and the next anonymous request shows it.

The page cache is invalidated explicitly (``core.pagecache.touched``) by the
services, not by listening to models. For each write a visitor could see —
threads, posts, reactions, moderation, resources and pins, events and chat
questions, memberships and roles, profiles, community settings — the pages
are cached first (the second fetch is a hit), the write runs through its
service and commits, and the next anonymous fetch must show the change. A
write in one community leaves another community's pages in the cache.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services as account_services
from communities import services as community_services
from communities.models import Community, Membership
from discussions import services
from discussions.models import Post
from events import services as event_services
from resources import services as resource_services
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 300


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the writes' on-commit hooks (generation bumps) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def anon(path: str):
    return Client().get(path)  # a fresh, cookie-less visitor each time


def page(path: str):
    response = anon(path)
    return response.content.decode() if response.status_code == 200 else response.status_code


@pytest.fixture
def scene(world, conversation, make_user):
    """A public thread, a resource, an event, a held reply and a hidden one, and the pages that show them."""
    s = SimpleNamespace(world=world, c=conversation)
    s.thread_url = conversation.thread.get_absolute_url()
    s.resource = factories.resource(world.member, world.public, title="Handover card", description="Short.")
    s.resource_url = s.resource.get_absolute_url()
    s.event = factories.event(world.facilitator, world.public, kind="call", title="Ward call")
    s.event_url = s.event.get_absolute_url()
    s.newcomer = make_user("nina", display_name="Nina Newcomer")
    factories.membership(s.newcomer, world.public)
    s.held = services.reply(s.newcomer, conversation.thread, "Held words about wards", suspected_spam=True)
    s.hidden = services.reply(world.member, conversation.thread, "Hidden words about wards")
    services.hide_post(world.facilitator, s.hidden, "Off topic")
    s.pages = [
        "/",
        "/c/",
        "/c/commons/",
        s.thread_url,
        "/c/commons/library/",
        s.resource_url,
        "/c/commons/events/",
        s.event_url,
        "/u/fern/",
        "/c/guild/",
    ]
    return s


def _facilitators_section(body: str) -> str:
    return body.split('id="facilitators-heading"', 1)[1].split("</section>", 1)[0]


def _first_of(body: str, *titles: str) -> str | None:
    """Which of ``titles`` the page lists first (None if one is missing)."""
    at = {title: body.find(title) for title in titles}
    return None if -1 in at.values() else min(at, key=at.get)


def _invite_and_accept(s):
    from allauth.account.models import EmailAddress

    invitation = community_services.invite(s.world.facilitator, s.world.public, "otto@example.org")
    EmailAddress.objects.filter(user=s.world.outsider).update(verified=True)
    community_services.accept_invitation(s.world.outsider, invitation)


def _pending_in_commons(s):
    return Membership.objects.get(user=s.world.pending, community=s.world.public)


# write → (the service call, what the next anonymous visitor sees)
WRITES = {
    "start a thread": (
        lambda s: services.start_thread(s.world.member, s.world.public, title="Brand new question", body="x"),
        lambda s: "Brand new question" in page("/c/commons/") and "Brand new question" in page("/u/mira/"),
    ),
    "reply": (
        lambda s: services.reply(s.world.owner, s.c.thread, "Fresh reply text"),
        lambda s: "Fresh reply text" in page(s.thread_url),
    ),
    "edit a post": (
        lambda s: services.edit_post(s.world.facilitator, s.c.answer, "Edited answer text"),
        lambda s: "Edited answer text" in page(s.thread_url),
    ),
    "edit a title": (
        lambda s: services.edit_post(s.world.member, s.c.opening, s.c.opening.body, title="Renamed question"),
        lambda s: "Renamed question" in page(s.thread_url) and "Renamed question" in page("/c/commons/"),
    ),
    "delete a post": (
        lambda s: services.delete_post(s.world.facilitator, s.c.answer),
        lambda s: "abbey" not in page(s.thread_url) and "This post was deleted." in page(s.thread_url),
    ),
    "mark helpful": (
        lambda s: services.toggle_helpful(s.world.member, s.c.answer),
        lambda s: "1 found this helpful" in page(s.thread_url),
    ),
    "accept an answer": (
        lambda s: services.accept_answer(s.world.member, s.c.thread, s.c.answer),
        lambda s: "Accepted answer" in page(s.thread_url),
    ),
    "hide a post": (
        lambda s: services.hide_post(s.world.owner, s.c.answer, "off topic"),
        lambda s: "abbey" not in page(s.thread_url),
    ),
    "unhide a post": (
        lambda s: services.unhide_post(s.world.owner, Post.objects.get(pk=s.hidden.pk)),
        lambda s: "Hidden words about wards" in page(s.thread_url),
    ),
    "approve a held post": (
        lambda s: services.approve_post(s.world.facilitator, Post.objects.get(pk=s.held.pk)),
        lambda s: "Held words about wards" in page(s.thread_url),
    ),
    "pin a thread": (
        lambda s: (
            services.start_thread(s.world.member, s.world.public, title="Newer thread", body="x"),
            services.set_thread_state(s.world.owner, s.c.thread, "pin"),
        ),
        lambda s: _first_of(page("/c/commons/"), "How do you assess pain", "Newer thread") == "How do you assess pain",
    ),
    "lock a thread": (
        lambda s: services.set_thread_state(s.world.owner, s.c.thread, "lock"),
        lambda s: "locked" in page(s.thread_url).lower(),
    ),
    "move a thread": (
        lambda s: services.move_thread(s.world.owner, s.c.thread, s.world.private),
        lambda s: page(s.thread_url) == 404 and "How do you assess pain" not in page("/c/commons/"),
    ),
    "add a resource": (
        lambda s: resource_services.add_resource(
            s.world.member, s.world.public, fields={"kind": "howto", "title": "Night checklist"}, tags=[]
        ),
        lambda s: "Night checklist" in page("/c/commons/library/"),
    ),
    "edit a resource": (
        lambda s: resource_services.edit_resource(
            s.world.member, s.resource, fields={"title": "Handover card, v2"}, tags=[]
        ),
        lambda s: "Handover card, v2" in page(s.resource_url) and "Handover card, v2" in page("/c/commons/library/"),
    ),
    "remove a resource": (
        lambda s: resource_services.remove_resource(s.world.member, s.resource),
        lambda s: page(s.resource_url) == 404 and "Handover card" not in page("/c/commons/library/"),
    ),
    "pin a resource": (
        lambda s: resource_services.set_pin(s.world.facilitator, s.resource, "pin"),
        lambda s: "Handover card" in page("/c/commons/"),
    ),
    "resource helpful": (
        lambda s: resource_services.toggle_helpful(s.world.facilitator, s.resource),
        lambda s: "1 found this helpful" in page(s.resource_url),
    ),
    "discuss a resource": (
        lambda s: resource_services.start_discussion(s.world.facilitator, s.resource),
        lambda s: "About: Handover card" in page("/c/commons/"),
    ),
    "schedule an event": (
        lambda s: event_services.create_event(
            s.world.facilitator,
            s.world.public,
            fields={
                "title": "Teaching round",
                "kind": "call",
                "starts_at": timezone.now() + timedelta(days=3),
                "ends_at": timezone.now() + timedelta(days=3, hours=1),
            },
            questions=[],
            hosts=[s.world.facilitator],
        ),
        lambda s: "Teaching round" in page("/c/commons/events/") and "Teaching round" in page("/c/commons/"),
    ),
    "edit an event": (
        lambda s: event_services.update_event(
            s.world.facilitator, s.event, fields={"title": "Ward call, moved"}, questions=[], hosts=None
        ),
        lambda s: "Ward call, moved" in page(s.event_url),
    ),
    "cancel an event": (
        lambda s: event_services.cancel_event(s.world.facilitator, s.event),
        lambda s: "cancelled" in page(s.event_url).lower(),
    ),
    "rsvp": (
        lambda s: event_services.rsvp(s.world.member, s.event, "going"),
        lambda s: "1 going" in page(s.event_url),
    ),
    "join": (
        lambda s: community_services.join(s.world.outsider, s.world.public),
        lambda s: "4 members" in page("/c/"),
    ),
    "leave": (
        lambda s: community_services.leave(s.world.member, s.world.public),
        lambda s: "2 members" in page("/c/"),
    ),
    "approve a join request": (
        lambda s: community_services.decide_request(
            s.world.owner, s.world.public, _pending_in_commons(s).pk, approve=True
        ),
        lambda s: "4 members" in page("/c/"),
    ),
    "accept an invitation": (
        _invite_and_accept,
        lambda s: "4 members" in page("/c/"),
    ),
    "remove a member": (
        lambda s: community_services.remove_member(
            s.world.owner,
            s.world.public,
            Membership.objects.get(user=s.world.member, community=s.world.public).pk,
            ban=True,
        ),
        lambda s: "2 members" in page("/c/"),
    ),
    "make a facilitator": (
        lambda s: community_services.set_role(
            s.world.owner,
            s.world.public,
            Membership.objects.get(user=s.world.member, community=s.world.public).pk,
            "facilitator",
        ),
        lambda s: "Mira Member" in _facilitators_section(page("/c/commons/")),
    ),
    "rename yourself": (
        lambda s: account_services.update_profile(
            s.world.facilitator, display_name="Fern Renamed", bio="", time_zone="UTC"
        ),
        lambda s: "Fern Renamed" in page(s.thread_url) and "Fern Renamed" in page("/u/fern/"),
    ),
    "edit your bio": (
        lambda s: account_services.update_profile(
            s.world.facilitator, display_name=s.world.facilitator.display_name, bio="Night nurse.", time_zone="UTC"
        ),
        lambda s: "Night nurse." in page("/u/fern/"),
    ),
    "edit the domain statement": (
        lambda s: community_services.update_community(
            s.world.owner, Community.objects.get(pk=s.world.public.pk), domain="Rounds that teach."
        ),
        lambda s: "Rounds that teach." in page("/c/commons/") and "Rounds that teach." in page("/c/"),
    ),
    "make a community private": (
        lambda s: community_services.update_community(
            s.world.owner,
            Community.objects.get(pk=s.world.public.pk),
            visibility=Community.Visibility.PRIVATE,
            join_policy=Community.JoinPolicy.INVITE,
        ),
        lambda s: page(s.thread_url) == 404 and page("/c/commons/") == 404 and "Ward Commons" not in page("/c/"),
    ),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_the_next_anonymous_request_shows_every_write(scene, write, committed):
    for path in scene.pages:
        anon(path)
        assert anon(path).get("X-Page-Cache") == "hit", path
    change, shows = WRITES[write]
    assert not shows(scene), f"{write}: the pages already show it, so this proves nothing"
    with committed():
        change(scene)
    assert shows(scene), write


def test_a_write_in_one_community_leaves_the_others_pages_cached(scene, committed):
    for path in scene.pages:
        anon(path)
    with committed():
        services.reply(scene.world.owner, scene.c.thread, "Only commons changed")
    assert anon("/c/guild/").get("X-Page-Cache") == "hit"
    assert anon("/c/commons/").get("X-Page-Cache") == "miss"
    assert anon("/c/").get("X-Page-Cache") == "miss"  # the directory orders by recent activity


def test_a_refused_or_rolled_back_write_leaves_the_cache_alone(scene, committed):
    for path in scene.pages:
        anon(path)
    with committed(), pytest.raises(services.DiscussionError):
        services.reply(scene.world.outsider, scene.c.thread, "Not a member")
    assert all(anon(path).get("X-Page-Cache") == "hit" for path in scene.pages)
