"""A page links to a related thing (a resource's discussion, an event's chat, a chat's event) only when the
viewer may see it where it is now: facilitators move threads into private communities."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from communities import services as communities
from discussions import services as discussions
from events.models import Event
from notifications.models import Notification
from resources import services as resources
from tests import factories

pytestmark = pytest.mark.django_db
PRIVATE_TRACES = ("Zebra Quince", "/c/circle/", "circle")


def as_(world, who: str | None) -> Client:
    client = Client()
    if who:
        client.force_login(getattr(world, who))
    return client


def shows_nothing_private(response) -> None:
    assert response.status_code == 200
    html = response.content.decode()
    for trace in PRIVATE_TRACES:
        assert trace not in html


@pytest.fixture
def moved_discussion(world):
    """A pinned public resource whose discussion (with two replies) was moved into the private circle."""
    resource = factories.resource(world.member, world.public, kind="tool", title="Night chart", description="A chart")
    resources.set_pin(world.facilitator, resource, "pin")
    thread = resources.start_discussion(world.member, resource)
    discussions.reply(world.facilitator, thread, "We used it for a month.")
    discussions.reply(world.member, thread, "And the patients' names were…")
    discussions.move_thread(world.facilitator, thread, world.private)
    return resource, thread


@pytest.mark.parametrize("who", [None, "outsider"], ids=["anonymous", "outsider"])
def test_a_public_resource_shows_nothing_of_its_discussion_moved_into_a_private_community(world, moved_discussion, who):
    resource, _ = moved_discussion
    client = as_(world, who)
    page = client.get(resource.get_absolute_url())
    shows_nothing_private(page)
    assert "Discussion (" not in page.content.decode()
    # Nor do the cards of the library and the community page (no reply count of the private thread).
    for url in ("/c/commons/library/", "/c/commons/"):
        listing = client.get(url)
        shows_nothing_private(listing)
        assert "Night chart" in listing.content.decode() and "2 replies" not in listing.content.decode()


def test_a_member_of_both_communities_still_follows_the_moved_discussion(world, moved_discussion):
    resource, thread = moved_discussion
    page = as_(world, "member").get(resource.get_absolute_url()).content.decode()
    assert f'href="/c/circle/t/{thread.pk}/"' in page and "Discussion (2 replies)" in page


def test_discuss_this_does_not_redirect_into_the_private_community(world, moved_discussion):
    resource, _ = moved_discussion
    communities.join(world.outsider, world.public)
    client = as_(world, "outsider")
    page = client.get(resource.get_absolute_url())
    shows_nothing_private(page)
    assert "Discuss this" not in page.content.decode()  # no second discussion either
    response = client.post(f"/c/commons/library/{resource.pk}/discuss/")
    assert response.status_code == 302 and response["Location"] == resource.get_absolute_url()


def _chat(world, community, title: str) -> Event:
    event = factories.event(world.facilitator, community, title=title, starts=datetime(2026, 1, 10, 20, 0, tzinfo=UTC))
    thread = discussions.start_thread(world.facilitator, community, title=title, body="Welcome", kind="chat")
    Event.objects.filter(pk=event.pk).update(thread=thread)
    event.thread = thread
    return event


@pytest.mark.parametrize("who", [None, "outsider"], ids=["anonymous", "outsider"])
def test_a_public_event_shows_nothing_of_its_chat_moved_into_a_private_community(world, who):
    event = _chat(world, world.public, "Night shift chat")
    discussions.move_thread(world.facilitator, event.thread, world.private)
    client = as_(world, who)
    for url in (event.get_absolute_url(), "/c/commons/events/"):
        page = client.get(url)
        shows_nothing_private(page)
        assert "the chat" not in page.content.decode()


def test_a_public_chat_does_not_link_its_event_in_a_private_community(world):
    event = _chat(world, world.private, "Quiet tapering chat")
    discussions.move_thread(world.facilitator, event.thread, world.public)
    page = as_(world, None).get(f"/c/commons/t/{event.thread.pk}/")
    shows_nothing_private(page)
    assert f"/events/{event.pk}/" not in page.content.decode()


def test_notifications_leave_out_a_thread_moved_where_the_person_cannot_follow(world, conversation):
    communities.join(world.outsider, world.public)
    discussions.reply(world.facilitator, conversation.thread, "Welcome, and see @otto")
    assert Notification.objects.filter(user=world.outsider).exists()
    discussions.move_thread(world.facilitator, conversation.thread, world.private)
    page = as_(world, "outsider").get("/notifications/")
    shows_nothing_private(page)
    assert conversation.thread.title not in page.content.decode()
