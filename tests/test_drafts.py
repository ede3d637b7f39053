"""The server's word that a draft became a post (core/drafts.py): only a successful post says it.

site.js deletes the drafts the ``copsite_posted`` cookie names before it puts
any draft back into a box (tests/test_browser_drafts.py drives that in the
browser). Here, through the HTTP layer: which answers set the cookie, for
which key, and that nothing but a draft key of the templates' shape gets in.
"""

from __future__ import annotations

import re

import pytest

from core import drafts
from discussions.models import Post, Thread
from events.models import Event
from resources.models import Resource
from tests import factories

pytestmark = pytest.mark.django_db

REPLY = "/c/commons/t/{}/reply/"


def posted_keys(response) -> list[str] | None:
    morsel = response.cookies.get(drafts.COOKIE)
    return None if morsel is None else morsel.value.split(".")


def test_a_posted_reply_names_its_draft_on_the_redirect(client, world, conversation):
    client.force_login(world.member)
    key = f"reply-{conversation.thread.pk}-thread"
    response = client.post(REPLY.format(conversation.thread.pk), {"body": "Thanks!", "draft_key": key})
    assert response.status_code == 302
    assert posted_keys(response) == [key]
    cookie = response.cookies[drafts.COOKIE]
    assert cookie["max-age"] == drafts.MAX_AGE and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["httponly"]  # site.js reads it


def test_a_posted_htmx_reply_names_its_draft_on_the_fragment(client, world, conversation):
    client.force_login(world.member)
    parent = conversation.answer
    key = f"reply-{conversation.thread.pk}-{parent.pk}"
    response = client.post(
        REPLY.format(conversation.thread.pk),
        {"parent": parent.pk, f"to{parent.pk}-body": "Inline thanks", "draft_key": key},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and b"just-posted" in response.content
    assert posted_keys(response) == [key]


def test_the_cookie_keeps_the_keys_of_earlier_posts_no_page_read_yet(client, world, conversation):
    client.force_login(world.member)
    thread = conversation.thread
    client.post(REPLY.format(thread.pk), {"body": "One", "draft_key": "chat-1"})
    response = client.post(REPLY.format(thread.pk), {"body": "Two", "draft_key": f"reply-{thread.pk}-thread"})
    assert posted_keys(response) == ["chat-1", f"reply-{thread.pk}-thread"]


@pytest.mark.parametrize(
    "data",
    [
        {"body": "   "},  # the form refuses it
        {"body": "[" * 20_001},  # refused for its length
        {"body": "Just looking", "preview": "1"},  # a preview posts nothing
    ],
    ids=["empty", "too-long", "preview"],
)
def test_a_refused_or_previewed_reply_names_no_draft(client, world, conversation, data):
    client.force_login(world.member)
    response = client.post(REPLY.format(conversation.thread.pk), {**data, "draft_key": "reply-1-thread"})
    assert response.status_code == 200
    assert posted_keys(response) is None
    assert not Post.objects.filter(author=world.member, depth__gt=0).exists()


def test_a_rate_limited_reply_names_no_draft_and_keeps_the_text(client, world, conversation, settings):
    settings.NEW_ACCOUNT_POST_RATE_LIMIT = "1/60"
    client.force_login(world.member)
    url = REPLY.format(conversation.thread.pk)
    client.post(url, {"body": "First", "draft_key": "reply-1-thread"})
    response = client.post(url, {"body": "Second, too soon", "draft_key": "reply-1-thread"})
    assert response.status_code == 429
    assert posted_keys(response) is None
    assert "Second, too soon" in response.content.decode()


@pytest.mark.parametrize(
    "key",
    ["", "reply 1", "reply-1;path=/", "Reply-1", "../x", "a" * 61, "reply-1\r\nSet-Cookie: x=1", "chat-1.chat-2"],
)
def test_a_hostile_draft_key_sets_no_cookie(client, world, conversation, key):
    client.force_login(world.member)
    response = client.post(REPLY.format(conversation.thread.pk), {"body": "Fine reply", "draft_key": key})
    assert response.status_code == 302  # the post itself is fine
    assert posted_keys(response) is None


def test_hostile_keys_in_an_earlier_cookie_are_dropped(client, world, conversation):
    client.force_login(world.member)
    client.cookies[drafts.COOKIE] = "chat-1.<script>.x y.chat-2"
    response = client.post(REPLY.format(conversation.thread.pk), {"body": "Fine", "draft_key": "chat-3"})
    assert posted_keys(response) == ["chat-1", "chat-2", "chat-3"]


def test_a_new_thread_resource_and_event_name_their_drafts(client, world):
    client.force_login(world.facilitator)
    response = client.post(
        "/c/commons/threads/new/",
        {"title": "Night rounds", "kind": "discussion", "body": "What first?", "draft_key": "thread-1"},
    )
    assert response.status_code == 302 and Thread.objects.filter(title="Night rounds").exists()
    assert posted_keys(response) == ["thread-1"]
    response = client.post(
        "/c/commons/library/add/",
        {"kind": "howto", "title": "Handover checklist", "description": "Five things", "draft_key": "resource-1"},
    )
    assert response.status_code == 302 and Resource.objects.filter(title="Handover checklist").exists()
    assert posted_keys(response)[-1] == "resource-1"
    response = client.post(
        "/c/commons/events/new/",
        {
            "title": "Huddle",
            "kind": "in_person",
            "date": "2031-03-04",
            "start_time": "19:00",
            "duration": "60",
            "time_zone": "UTC",
            "place": "Ward 5",
            "draft_key": "event-1",
        },
    )
    assert response.status_code == 302 and Event.objects.filter(title="Huddle").exists()
    assert posted_keys(response)[-1] == "event-1"


def test_posting_forms_carry_their_draft_key_and_edit_forms_none(client, world, conversation):
    client.force_login(world.facilitator)
    thread = conversation.thread
    draft_keys = re.compile(r'<input type="hidden" name="draft_key" value="([^"]+)">')
    page = client.get(thread.get_absolute_url()).content.decode()
    assert draft_keys.findall(page) == [f"reply-{thread.pk}-thread"]
    inline = client.get(REPLY.format(thread.pk) + f"?to={conversation.answer.pk}", HTTP_HX_REQUEST="true")
    assert draft_keys.findall(inline.content.decode()) == [f"reply-{thread.pk}-{conversation.answer.pk}"]
    community = world.public.pk
    assert draft_keys.findall(client.get("/c/commons/threads/new/").content.decode()) == [f"thread-{community}"]
    assert draft_keys.findall(client.get("/c/commons/library/add/").content.decode()) == [f"resource-{community}"]
    assert draft_keys.findall(client.get("/c/commons/events/new/").content.decode()) == [f"event-{community}"]
    resource = factories.resource(world.facilitator, world.public, title="Handout", description="steps")
    event = factories.event(world.facilitator, world.public, kind="in_person", place="Ward 5")
    assert draft_keys.findall(client.get(f"{resource.get_absolute_url()}edit/").content.decode()) == []
    assert draft_keys.findall(client.get(f"{event.get_absolute_url()}edit/").content.decode()) == []
