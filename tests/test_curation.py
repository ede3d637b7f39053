"""What a facilitator of a mature library does: hand a resource to another owner, take one back to draft,
and look after value notes (their authors edit and delete them; facilitators remove them, on the record)."""

from __future__ import annotations

import pytest
from django.test import Client

from communities.models import AuditEntry
from resources import services
from resources.models import Resource
from tests import factories
from value import services as value
from value.items import Item
from value.models import ValueNote

pytestmark = pytest.mark.django_db


def url(resource: Resource, action: str = "") -> str:
    return resource.get_absolute_url() + (f"{action}/" if action else "")


def text(response) -> str:
    return response.content.decode()


def audit(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).select_related("actor", "target_user"))


# --- Changing a resource's owner ---------------------------------------------------------------------


def test_a_facilitator_hands_a_resource_to_another_member_by_username(client, world):
    card = factories.resource(world.member, world.public, title="Handover card")
    client.force_login(world.facilitator)
    assert "Change owner" in text(client.get(url(card)))
    form = client.get(url(card, "owner"))
    assert "Now: <strong>Mira Member</strong>" in text(form)
    response = client.post(url(card, "owner"), {"username": "@Olive"}, follow=True)
    page = text(response)
    assert "Olive Owner owns “Handover card” now." in page and "Owner: Olive Owner" in page
    card.refresh_from_db()
    assert card.owner == world.owner and card.added_by == world.member
    (entry,) = audit("resource.owner")
    assert entry.actor == world.facilitator and entry.target_user == world.owner
    assert "owner was @mira" in entry.detail
    # The new owner keeps it current: they may edit it now.
    client.force_login(world.owner)
    assert client.get(url(card, "edit")).status_code == 200


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("nobody-here", "There is nobody with the username “nobody-here” here."),
        ("otto", "@otto is not a member of Ward Commons: only members can own its resources."),
        ("pat", "@pat is not a member of Ward Commons"),  # pending elsewhere, never joined here
        ("", "Type the username of the member who will own it."),
    ],
)
def test_an_unknown_or_non_member_owner_is_refused_with_a_clear_error(client, world, typed, error):
    card = factories.resource(world.member, world.public, title="Handover card")
    client.force_login(world.facilitator)
    response = client.post(url(card, "owner"), {"username": typed})
    assert response.status_code == 200 and error in text(response)
    assert 'aria-invalid="true"' in text(response)
    card.refresh_from_db()
    assert card.owner == world.member and not audit("resource.owner")


def test_only_facilitators_change_owners(client, world):
    card = factories.resource(world.member, world.public, title="Handover card")
    for who in (world.member, world.owner, world.outsider):
        client.force_login(who)
        if who == world.owner:
            continue  # the community's owner is a facilitator too (see below)
        assert client.get(url(card, "owner")).status_code == 403
        assert client.post(url(card, "owner"), {"username": "olive"}).status_code == 403
        assert "Change owner" not in text(client.get(url(card)))
    client.logout()
    assert client.post(url(card, "owner"), {"username": "olive"}).status_code in (302, 403)
    card.refresh_from_db()
    assert card.owner == world.member


# --- Back to draft --------------------------------------------------------------------------------------


def test_unpublishing_asks_first_then_unpins_and_withdraws_the_endorsement(
    client, world, settings, django_capture_on_commit_callbacks
):
    settings.PAGE_CACHE_SECONDS = 300
    card = factories.resource(world.member, world.public, title="Handover card")
    other = factories.resource(world.member, world.public, title="Second card")
    services.set_pin(world.facilitator, card, "pin")
    services.set_pin(world.facilitator, other, "pin")
    services.endorse_resource(world.facilitator, card)
    assert "Handover card" in text(Client().get("/c/commons/library/"))  # cached for visitors
    client.force_login(world.facilitator)
    confirm = text(client.get(url(card, "unpublish")))
    assert "Take “Handover card” back to draft?" in confirm
    assert "It is unpinned" in confirm and "Its endorsement is withdrawn" in confirm
    card.refresh_from_db()
    assert card.status == Resource.Status.ENDORSED  # looking changes nothing

    with django_capture_on_commit_callbacks(execute=True):  # the cache is refreshed when the write commits
        response = client.post(url(card, "unpublish"), follow=True)
    page = text(response)
    assert "Back to draft: only its owner and the facilitators see it now." in page
    card.refresh_from_db()
    other.refresh_from_db()
    assert card.status == Resource.Status.DRAFT and card.pin_position is None
    assert card.endorsed_by is None and card.endorsed_at is None
    assert other.pin_position == 1  # the pins stay dense
    (entry,) = audit("resource.unpublish")
    assert entry.actor == world.facilitator and entry.target_user == world.member
    # Visitors see it gone at once (the cached library page was refreshed).
    assert "Handover card" not in text(Client().get("/c/commons/library/"))
    assert Client().get(url(card)).status_code == 404
    # The owner still sees it, and may publish it again.
    client.force_login(world.member)
    assert "Publish" in text(client.get(url(card)))


def test_only_facilitators_unpublish_and_only_what_is_published(client, world):
    card = factories.resource(world.member, world.public, title="Handover card")
    client.force_login(world.member)  # its owner
    assert client.get(url(card, "unpublish")).status_code == 403
    assert client.post(url(card, "unpublish")).status_code == 403
    assert "Back to draft" not in text(client.get(url(card)))
    new = factories.resource(world.member, world.public, title="New card")
    services.supersede_resource(world.facilitator, card, new)
    client.force_login(world.facilitator)
    assert client.post(url(card, "unpublish")).status_code == 403  # superseded stays superseded
    card.refresh_from_db()
    assert card.status == Resource.Status.SUPERSEDED and not audit("resource.unpublish")


# --- Value notes: edit, delete, remove ---------------------------------------------------------------------


def note_on(resource: Resource, author, text: str = "I print it for every new nurse.") -> ValueNote:
    return value.add_note(author, Item(resource.community, resource=resource), cycle="applied", text=text)


def test_the_author_edits_their_value_note_and_visitors_see_the_new_words(
    client, world, settings, django_capture_on_commit_callbacks
):
    settings.PAGE_CACHE_SECONDS = 300
    card = factories.resource(world.owner, world.public, title="Handover card")
    note = note_on(card, world.member)
    assert "I print it for every new nurse." in text(Client().get(url(card)))
    client.force_login(world.member)
    page = text(client.get(url(card)))
    assert f"/value/notes/{note.pk}/edit/" in page and f"/value/notes/{note.pk}/delete/" in page
    form = text(client.get(f"/value/notes/{note.pk}/edit/"))
    assert "I print it for every new nurse." in form and "Edit your value note" in form
    with django_capture_on_commit_callbacks(execute=True):  # the cache is refreshed when the write commits
        response = client.post(
            f"/value/notes/{note.pk}/edit/",
            {"cycle": "realised", "text": "Handovers take half the time.", "measure": "20 to 10 minutes"},
            follow=True,
        )
    assert "Your value note is changed." in text(response)
    note.refresh_from_db()
    assert (note.cycle, note.text, note.measure) == ("realised", "Handovers take half the time.", "20 to 10 minutes")
    visitor = text(Client().get(url(card)))
    assert "Handovers take half the time." in visitor and "I print it" not in visitor


def test_a_realised_note_still_needs_its_measure_when_edited(client, world):
    card = factories.resource(world.owner, world.public, title="Handover card")
    note = note_on(card, world.member)
    client.force_login(world.member)
    response = client.post(f"/value/notes/{note.pk}/edit/", {"cycle": "realised", "text": "Better."})
    assert "Say what changed: realised value needs a measure." in text(response)
    note.refresh_from_db()
    assert note.cycle == "applied"


def test_others_cannot_edit_a_note_and_members_cannot_remove_one(client, world):
    card = factories.resource(world.owner, world.public, title="Handover card")
    note = note_on(card, world.member)
    client.force_login(world.owner)  # a facilitator too: may remove, never rewrite
    assert client.get(f"/value/notes/{note.pk}/edit/").status_code == 403
    assert client.post(f"/value/notes/{note.pk}/edit/", {"cycle": "immediate", "text": "x"}).status_code == 403
    community_services_join(world)
    client.force_login(world.outsider)
    assert client.get(f"/value/notes/{note.pk}/edit/").status_code == 403
    assert client.post(f"/value/notes/{note.pk}/delete/").status_code == 403
    page = text(client.get(url(card)))
    assert f"/value/notes/{note.pk}/" not in page
    assert ValueNote.objects.get(pk=note.pk).text == "I print it for every new nurse."
    client.logout()
    assert client.post(f"/value/notes/{note.pk}/delete/").status_code == 302  # to log in
    assert ValueNote.objects.filter(pk=note.pk).exists()


def community_services_join(world) -> None:
    from communities import services as community_services

    community_services.join(world.outsider, world.public)


def test_a_note_on_a_private_thread_is_missing_for_outsiders(client, world, conversation):
    note = value.add_note(
        world.member, Item(world.private, thread=conversation.private_thread), cycle="potential", text="Secret."
    )
    client.force_login(world.outsider)
    assert client.get(f"/value/notes/{note.pk}/edit/").status_code == 404
    assert client.post(f"/value/notes/{note.pk}/delete/").status_code == 404
    assert client.get("/value/notes/999999/delete/").status_code == 404


def test_the_author_deletes_their_note_after_confirming_without_an_audit_entry(client, world):
    card = factories.resource(world.owner, world.public, title="Handover card")
    note = note_on(card, world.member)
    client.force_login(world.member)
    assert "Delete your value note?" in text(client.get(f"/value/notes/{note.pk}/delete/"))
    assert ValueNote.objects.filter(pk=note.pk).exists()
    page = text(client.post(f"/value/notes/{note.pk}/delete/", follow=True))
    assert "Your value note is deleted." in page and "I print it" not in page
    assert not ValueNote.objects.filter(pk=note.pk).exists() and not audit("value_note.remove")


def test_a_facilitator_removes_a_note_and_the_audit_log_says_so(client, world):
    card = factories.resource(world.owner, world.public, title="Handover card")
    note = note_on(card, world.member, "Buy cheap pills at example.com")
    client.force_login(world.facilitator)
    page = text(client.get(url(card)))
    assert f"/value/notes/{note.pk}/delete/" in page and f"/value/notes/{note.pk}/edit/" not in page
    assert "Remove Mira Member’s value note?" in text(client.get(f"/value/notes/{note.pk}/delete/"))
    page = text(client.post(f"/value/notes/{note.pk}/delete/", follow=True))
    assert "The value note is removed." in page and "cheap pills" not in page
    (entry,) = audit("value_note.remove")
    assert entry.actor == world.facilitator and entry.target_user == world.member
    assert "Buy cheap pills" in entry.detail


@pytest.mark.parametrize("count", [2, 30])
def test_a_resource_page_with_many_notes_costs_the_same(client, world, count, django_assert_max_num_queries):
    card = factories.resource(world.owner, world.public, title="Handover card")
    people = [world.member, world.facilitator, world.owner]
    for i in range(count):
        note_on(card, people[i % 3], f"Note {i}")
    client.force_login(world.facilitator)
    with django_assert_max_num_queries(8):  # measured: 8 for 2 notes and for 30
        page = text(client.get(url(card)))
    assert page.count("/value/notes/") >= count
