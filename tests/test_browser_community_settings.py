"""Browser journey: the owner makes a private community open, after seeing what becomes visible."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from communities.models import AuditEntry, Community
from discussions import services as discussions
from tests.browser import assert_accessible, log_in, log_out, visit

pytestmark = pytest.mark.browser


def test_owner_sees_what_becomes_visible_then_confirms(page, live_server, world):
    discussions.start_thread(world.member, world.private, title="Tapering after long stays", body="What worked?")
    log_in(page, live_server.url, world.owner.email)
    visit(page, f"{live_server.url}/c/circle/")
    page.get_by_role("link", name="Edit community details").click()
    page.get_by_label("Open: anyone can read, members post").check()
    page.get_by_role("button", name="Save changes").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Make Zebra Quince Circle open?")
    becomes_visible = page.get_by_role("region", name="What becomes visible to anyone")
    expect(becomes_visible.get_by_role("heading", name="Threads: 1")).to_be_visible()
    expect(becomes_visible.get_by_role("listitem").filter(has_text="Tapering after long stays")).to_be_visible()
    expect(becomes_visible.get_by_role("listitem").filter(has_text="Mira Member")).to_be_visible()
    assert_accessible(page)
    assert Community.objects.get(pk=world.private.pk).is_private  # not yet

    page.get_by_role("button", name="Make it open and save").click()
    expect(page.get_by_role("status")).to_contain_text("Zebra Quince Circle is now open: anyone can read it.")
    assert AuditEntry.objects.filter(community=world.private, action="community.visibility").count() == 1
    log_out(page)

    visit(page, f"{live_server.url}/c/circle/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Zebra Quince Circle")
    expect(page.get_by_role("link", name="Tapering after long stays")).to_be_visible()


def test_a_facilitator_sees_the_owners_settings_but_cannot_change_them(page, live_server, world):
    log_in(page, live_server.url, world.facilitator.email)
    visit(page, f"{live_server.url}/c/circle/edit/")
    settings = page.get_by_role("region", name="Decided by the owners")
    expect(settings).to_contain_text("Private: only members see anything")
    expect(page.get_by_label("Public: anyone can read, members post")).to_have_count(0)
    expect(page.get_by_label("Slug")).to_have_count(0)
