"""Browser journey for curation: a facilitator hands a resource to a new owner and takes it back to draft;
a member edits their value note."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from communities.models import AuditEntry
from resources import services
from resources.models import Resource
from tests import factories
from tests.browser import assert_accessible, log_in, log_out, visit
from value import services as value
from value.items import Item
from value.models import ValueNote

pytestmark = pytest.mark.browser


def test_owner_change_unpublish_and_a_value_note_edit(page, live_server, world):
    card = factories.resource(world.member, world.public, title="Night handover card", description="Steps.")
    services.set_pin(world.facilitator, card, "pin")
    services.endorse_resource(world.facilitator, card)
    note = value.add_note(
        world.member, Item(world.public, resource=card), cycle="immediate", text="Saved my first night shift."
    )

    log_in(page, live_server.url, world.facilitator.email)
    visit(page, f"{live_server.url}{card.get_absolute_url()}")
    # Change the owner: an unknown name first, then a member.
    page.get_by_role("link", name="Change owner").click()
    assert_accessible(page)
    page.get_by_label("New owner's username").fill("nobody-here")
    page.get_by_role("button", name="Change owner").click()
    expect(page.get_by_text("There is nobody with the username “nobody-here” here.")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("New owner's username").fill("@olive")
    page.get_by_role("button", name="Change owner").click()
    expect(page.get_by_text("Olive Owner owns “Night handover card” now.")).to_be_visible()
    expect(page.get_by_text("Owner: Olive Owner")).to_be_visible()

    # Back to draft: a confirmation page, then unpinned and no longer endorsed.
    expect(page.locator(".badge-pinned")).to_be_visible()
    page.get_by_role("link", name="Back to draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Take “Night handover card” back to draft?")
    assert_accessible(page)
    page.get_by_role("button", name="Back to draft").click()
    expect(page.get_by_text("Back to draft: only its owner and the facilitators see it now.")).to_be_visible()
    expect(page.locator(".badge-pinned")).to_have_count(0)
    expect(page.locator(".endorsement")).to_have_count(0)
    expect(page.locator(".badge", has_text="Draft")).to_be_visible()
    assert_accessible(page)
    assert set(AuditEntry.objects.values_list("action", flat=True)) >= {"resource.owner", "resource.unpublish"}

    # Published again, the member edits their value note on it.
    services.publish_resource(world.facilitator, Resource.objects.get(pk=card.pk))
    log_out(page)
    member_page = page
    log_in(member_page, live_server.url, world.member.email)
    visit(member_page, f"{live_server.url}{card.get_absolute_url()}")
    member_page.get_by_role("link", name="Edit your value note").click()
    assert_accessible(member_page)
    member_page.get_by_label("What did it do for you?").fill("I use it every night now.")
    member_page.get_by_label("Applied value", exact=False).check()
    member_page.get_by_role("button", name="Save changes").click()
    expect(member_page.get_by_text("Your value note is changed.")).to_be_visible()
    expect(member_page.locator(".value-note-text")).to_have_text("I use it every night now.")
    expect(member_page.locator(".value-cycle-applied")).to_be_visible()
    assert_accessible(member_page)
    note.refresh_from_db()
    assert (note.cycle, note.text) == (ValueNote.Cycle.APPLIED, "I use it every night now.")
