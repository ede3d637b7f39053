"""Owners' decisions: who may see a community, who may join it, its address; a visibility change is confirmed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from django.utils import timezone

from communities import services
from communities.models import AuditEntry, Community
from discussions import services as discussions
from discussions.models import Thread
from resources import services as resources
from tests import factories

pytestmark = pytest.mark.django_db
EDIT = "/c/circle/edit/"


def page_text(response) -> str:
    return unescape(response.content.decode())


form_data = factories.settings_form


def snapshot(community: Community) -> tuple:
    community = Community.objects.get(pk=community.pk)
    return (community.slug, community.visibility, community.join_policy, community.domain, community.name)


@pytest.fixture
def circle(world):
    """The private circle with something in it: a thread with a reply, a hidden reply, a thread held
    for review, a resource with a file, a removed resource and an event."""
    thread = discussions.start_thread(
        world.member, world.private, title="Tapering after long stays", body="What worked for you?"
    )
    discussions.reply(world.facilitator, thread, "Slow steps, weekly reviews.")
    hidden = discussions.reply(world.member, thread, "Names of my patients, oops")
    discussions.hide_post(world.facilitator, hidden, "Patient details")
    held = discussions.start_thread(world.owner, world.private, title="Unreviewed musings", body="Not yet")
    Thread.objects.filter(pk=held.pk).update(held_at=timezone.now())
    factories.resource(
        world.member, world.private, kind="file", title="Taper chart", file=("taper chart.pdf", b"%PDF-1.4\n%%EOF")
    )
    gone = factories.resource(world.member, world.private, title="Old handout", description="x")
    resources.remove_resource(world.member, gone)
    factories.event(
        world.facilitator,
        world.private,
        kind="call",
        title="Taper case night",
        starts=datetime(2026, 3, 4, 18, 0, tzinfo=UTC),
    )
    return world.private


# --- Facilitators see them, owners decide them ----------------------------------------------------------


def test_a_facilitators_edit_form_shows_the_owners_settings_as_text(client, world):
    client.force_login(world.facilitator)
    html = page_text(client.get(EDIT))
    assert 'name="domain"' in html
    for field in ("visibility", "join_policy", "slug"):
        assert f'name="{field}"' not in html
    assert "Only the community's owners can change these." in html
    assert "Private: only members see anything" in html and "/c/circle/" in html


@pytest.mark.parametrize(
    "forged",
    [{"visibility": "open"}, {"join_policy": "open"}, {"slug": "quince"}],
    ids=["visibility", "join_policy", "slug"],
)
def test_a_facilitator_who_is_not_an_owner_cannot_change_the_owners_settings(client, world, forged):
    before = snapshot(world.private)
    audit = AuditEntry.objects.count()
    client.force_login(world.facilitator)
    response = client.post(EDIT, form_data(world.private, domain="Our new domain statement.", **forged))
    html = page_text(response)
    assert response.status_code == 403
    assert "Only the community's owners can change who may see it" in html and "Nothing was saved." in html
    assert "Our new domain statement.</textarea>" in html  # what they typed is still there
    assert snapshot(world.private) == before
    assert AuditEntry.objects.count() == audit
    # Nobody outside can read it.
    client.logout()
    assert client.get("/c/circle/").status_code == 404


def test_a_facilitator_still_edits_the_rest(client, world):
    client.force_login(world.facilitator)
    data = form_data(world.private, domain="Tapering, together.")
    for field in ("visibility", "join_policy", "slug"):
        data.pop(field)
    response = client.post(EDIT, data)
    assert response.status_code == 302 and response["Location"] == "/c/circle/"
    world.private.refresh_from_db()
    assert world.private.domain == "Tapering, together." and world.private.is_private


def test_the_service_refuses_a_facilitator_too(world):
    with pytest.raises(services.CommunityError):
        services.update_community(world.facilitator, world.private, visibility="open")
    assert Community.objects.get(pk=world.private.pk).is_private


def test_the_owner_changes_who_may_join_and_the_address_and_both_are_audited(client, world):
    client.force_login(world.owner)
    response = client.post("/c/commons/edit/", form_data(world.public, join_policy="approval", slug="quince"))
    assert response.status_code == 302 and response["Location"] == "/c/quince/"
    community = Community.objects.get(pk=world.public.pk)
    assert (community.slug, community.join_policy) == ("quince", "approval")
    entries = dict(AuditEntry.objects.filter(community=community).values_list("action", "detail"))
    assert entries["community.join_policy"] == "open → approval"
    assert entries["community.slug"] == "commons → quince"


# --- Visibility: a second step that shows exactly what changes -------------------------------------------


def test_making_a_private_community_public_first_shows_exactly_what_becomes_visible(client, world, circle):
    client.force_login(world.owner)
    response = client.post(EDIT, form_data(circle, visibility="open"))
    html = page_text(response)
    assert response.status_code == 200
    assert "Make Zebra Quince Circle open?" in html
    assert "What becomes visible to anyone" in html
    assert Community.objects.get(pk=circle.pk).is_private  # nothing changed yet
    counts = dict(re.findall(r"<h3>([A-Za-z ]+): (\d+)</h3>", html))
    assert counts == {
        "Threads": "1",  # not the one held for review
        "Replies": "1",  # not the hidden one
        "Resources": "1",  # not the removed one
        "Files": "1",
        "Events": "1",
        "People named": "3",  # the thread's author, the replier (and host), the owner on the community page
    }
    for shown in ("Tapering after long stays", "Taper chart", "taper chart.pdf", "Taper case night"):
        assert shown in html
    for name in ("Mira Member", "Fern Facilitator", "Olive Owner"):
        assert f"<li>{name}</li>" in html
    for hidden in ("Unreviewed musings", "Old handout", "Names of my patients", "Pat Pending", "Bo Banned"):
        assert hidden not in html


def confirmation(client, data: dict) -> dict:
    """What the confirmation page's button sends: the form again, the decision, what was shown."""
    page = client.post(EDIT, data).content.decode()
    return {
        **data,
        **dict(re.findall(r'<input type="hidden" name="(confirm_visibility|exposure)" value="([^"]*)">', page)),
    }


def test_confirming_makes_it_public_and_writes_an_audit_entry(client, world, circle):
    client.force_login(world.owner)
    data = confirmation(client, form_data(circle, visibility="open"))
    assert data["confirm_visibility"] == "open"
    response = client.post(EDIT, data)
    assert response.status_code == 302
    assert not Community.objects.get(pk=circle.pk).is_private
    entry = AuditEntry.objects.get(community=circle, action="community.visibility")
    assert entry.actor == world.owner
    assert entry.detail == (
        "private → open: to everyone: 1 threads, 1 replies, 1 resources, 1 files, 1 events, 3 people named"
    )
    client.logout()
    assert "Tapering after long stays" in client.get("/c/circle/").content.decode()


def test_a_confirmation_for_an_older_list_is_asked_again(client, world, circle):
    client.force_login(world.owner)
    data = confirmation(client, form_data(circle, visibility="open"))
    discussions.start_thread(world.member, circle, title="Written while the owner read", body="Hello")
    html = page_text(client.post(EDIT, data))
    assert "Something changed since you looked" in html and "Written while the owner read" in html
    assert Community.objects.get(pk=circle.pk).is_private
    assert not AuditEntry.objects.filter(action="community.visibility").exists()


def test_back_from_the_confirmation_keeps_what_was_typed(client, world, circle):
    client.force_login(world.owner)
    data = form_data(circle, visibility="open", domain="Open to all now.", back="1")
    response = client.post(EDIT, data)
    html = page_text(response)
    assert response.status_code == 200 and "Edit Zebra Quince Circle" in html
    assert "Open to all now.</textarea>" in html
    assert snapshot(circle) == ("circle", "private", "invite", "Xylophone tapering cases in confidence.", circle.name)


def test_making_an_open_community_private_says_what_stops_being_visible(client, world, conversation):
    client.force_login(world.owner)
    data = form_data(world.public, visibility="private", join_policy="invite")
    html = page_text(client.post("/c/commons/edit/", data))
    assert "Make Ward Commons private?" in html and "What stops being visible to anyone outside it" in html
    assert "How do you assess pain in delirium?" in html
    assert "The 1 person waiting for approval will no longer see it." in html
    assert not Community.objects.get(pk=world.public.pk).is_private


def test_a_site_admin_may_decide_too(client, world):
    client.force_login(world.admin)
    response = client.post("/c/commons/edit/", form_data(world.public, join_policy="approval"))
    assert response.status_code == 302
    assert Community.objects.get(pk=world.public.pk).join_policy == "approval"
