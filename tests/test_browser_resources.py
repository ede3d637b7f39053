"""Browser journey for the library: add a research summary, pin it to the top, find it, discuss it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from resources import services
from resources.models import Resource
from tests import factories
from tests.browser import assert_accessible, log_in, log_out, visit

pytestmark = pytest.mark.browser


def test_research_summary_is_added_pinned_to_the_top_found_and_discussed(page, live_server, world):
    for title in ("Older handout", "Another how-to"):
        r = factories.resource(world.owner, world.public, title=title, description="steps")
        services.set_pin(world.owner, r, "pin")

    # A member adds a research summary with a tag.
    log_in(page, live_server.url, world.member.email)
    visit(page, f"{live_server.url}/c/commons/library/")
    page.get_by_role("link", name="Add a resource").click()
    assert_accessible(page)
    page.get_by_label("Research summary").check()
    page.get_by_label("Title", exact=True).fill("Sleep hygiene after surgery")
    page.get_by_label("Paper title").fill("Sleep disruption and post-operative pain: a demonstration cohort")
    page.get_by_label("DOI or PMID").fill("PMID: 31978945")
    page.get_by_label("The finding, in plain words").fill(
        "Patients who slept worse reported **more pain** the next day."
    )
    page.get_by_label("So what for practice?").fill("- Cluster night-time observations\n- Ask about sleep at handover")
    page.get_by_label(re.compile(r"^Try this")).fill("Ask one patient about their sleep at handover tonight.")
    page.get_by_label("Tags").fill("sleep")
    page.get_by_role("button", name="Add to the library").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sleep hygiene after surgery")
    expect(page.locator(".in-practice")).to_contain_text("Ask about sleep at handover")
    expect(page.get_by_role("link", name="sleep")).to_be_visible()
    assert_accessible(page)
    log_out(page)

    # The facilitator pins it and moves it to the top of "Start here".
    log_in(page, live_server.url, world.facilitator.email)
    resource = Resource.objects.get(title="Sleep hygiene after surgery")
    visit(page, f"{live_server.url}{resource.get_absolute_url()}")
    page.get_by_role("button", name="Pin to “Start here”").click()
    visit(page, f"{live_server.url}/c/commons/library/")
    pinned = page.get_by_role("region", name="Start here").get_by_role("listitem").filter(has=page.locator("h3"))
    expect(pinned.nth(2)).to_contain_text("Sleep hygiene after surgery")
    page.get_by_role("button", name="Move up Sleep hygiene after surgery").click()
    page.get_by_role("button", name="Move up Sleep hygiene after surgery").click()
    expect(pinned.nth(0)).to_contain_text("Sleep hygiene after surgery")
    assert_accessible(page)
    visit(page, f"{live_server.url}/c/commons/")
    expect(page.get_by_role("region", name="Start here").locator("h3").first).to_have_text(
        "Sleep hygiene after surgery"
    )
    log_out(page)

    # Another member finds it through search and starts its discussion.
    log_in(page, live_server.url, world.owner.email)
    page.get_by_role("link", name="Search").click()
    page.get_by_label("Search conversations and libraries").fill("sleep hygiene")
    page.get_by_role("button", name="Search").click()
    assert_accessible(page)
    page.get_by_role("link", name="Sleep hygiene after surgery").click()
    page.get_by_role("button", name="Discuss this").click()
    expect(page).to_have_url(re.compile(r"/c/commons/t/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("About: Sleep hygiene after surgery")
    expect(page.get_by_role("link", name="Sleep hygiene after surgery")).to_be_visible()
    assert_accessible(page)
