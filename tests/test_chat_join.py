"""Someone watching a running hosted chat who may not answer is offered a way in: log in, join (or ask to)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from communities.models import Membership
from events import services as events
from events.models import Event
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


def chat(world, community):
    event = factories.event(
        world.facilitator if community == world.public else world.owner,
        community,
        title="Night pain chat",
        starts=timedelta(minutes=-15),
        welcome="Welcome, everyone.",
        questions=((0, "First?"),),
    )
    events.run_chats(timezone.now())
    event.refresh_from_db()
    return event


def chat_url(event) -> str:
    return event.thread.get_absolute_url()


def test_a_visitor_is_offered_log_in_to_answer_and_no_answer_box(client, world):
    url = chat_url(chat(world, world.public))
    page = client.get(url).content.decode()
    assert "First?" in page
    assert f"/accounts/login/?next={quote(url)}" in page and "Log in to answer" in page
    assert "Your answer" not in page and "Join to answer" not in page


def test_an_outsider_joins_to_answer_and_comes_back_to_the_chat_with_an_answer_box(client, world):
    url = chat_url(chat(world, world.public))
    client.force_login(world.outsider)
    page = client.get(url).content.decode()
    assert "Join to answer" in page and "Your answer" not in page
    response = client.post(f"/c/{world.public.slug}/join/", {"next": url})
    assert response.status_code == 302 and response["Location"] == url
    assert Membership.objects.get(user=world.outsider, community=world.public).state == Membership.State.ACTIVE
    page = client.get(url).content.decode()
    assert "Your answer" in page and "Join to answer" not in page and "Log in to answer" not in page


@pytest.mark.parametrize(
    "hostile", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", "/\\evil.example", "http:evil"]
)
def test_join_never_sends_anyone_to_another_site(client, world, hostile):
    client.force_login(world.outsider)
    response = client.post(f"/c/{world.public.slug}/join/", {"next": hostile})
    assert response.status_code == 302 and response["Location"] == world.public.get_absolute_url()


def test_asking_to_join_from_a_chat_sends_a_request_and_answers_stay_closed(client, world):
    url = chat_url(chat(world, world.approval))
    client.force_login(world.outsider)
    page = client.get(url).content.decode()
    assert "Ask to join" in page and "Join to answer" not in page
    response = client.post(f"/c/{world.approval.slug}/join/", {"next": url})
    # A request is not membership: back to the community, which says a facilitator will review it.
    assert response.status_code == 302 and response["Location"] == world.approval.get_absolute_url()
    assert Membership.objects.get(user=world.outsider, community=world.approval).state == Membership.State.PENDING
    page = client.get(url).content.decode()
    assert "Your answer" not in page and "Ask to join" not in page


def test_members_and_finished_chats_get_no_prompt(client, world):
    running = chat_url(chat(world, world.public))
    client.force_login(world.member)
    page = client.get(running).content.decode()
    assert "Your answer" in page and "Join to answer" not in page
    client.force_login(world.outsider)
    event = chat(world, world.public)
    Event.objects.filter(pk=event.pk).update(ends_at=timezone.now() - timedelta(minutes=1))
    ended = chat_url(event)
    page = client.get(ended).content.decode()
    assert "First?" in page and "Join to answer" not in page and "Log in to answer" not in page
