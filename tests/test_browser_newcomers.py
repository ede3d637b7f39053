"""Browser journeys for newcomers: ways to start, a first reply celebrated in the bell, the member directory
filtered by expertise on a phone (Chromium, axe-core)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from communities import services as community_services
from discussions import services as discussions
from notifications.models import Notification
from tests import factories
from tests.browser import assert_accessible, log_in, visit

pytestmark = pytest.mark.browser


def test_newcomer_answers_a_good_first_reply_question_and_sees_the_celebration(page, live_server, world, make_user):
    nina = make_user("nina", display_name="Nina Newcomer")
    factories.membership(nina, world.public)
    question = factories.thread(world.owner, world.public, title="Which pain scale on nights?", kind="question")
    discussions.set_thread_state(world.facilitator, question, "good_first_reply")

    log_in(page, live_server.url, nina.email)
    visit(page, f"{live_server.url}/c/commons/")
    ways = page.get_by_role("region", name="Ways to start")
    expect(ways).to_contain_text("Good first reply")
    ways.get_by_role("link", name="Which pain scale on nights?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Which pain scale on nights?")
    region = page.get_by_role("region", name="Reply to the thread")
    region.get_by_label("Your reply").fill("We use **PAINAD** after midnight.")
    region.get_by_role("button", name="Post reply").click()
    expect(page.get_by_role("status")).to_contain_text("Your reply is posted.")

    # The bell counts the celebration; the list says it.
    expect(page.locator(".bell-count:visible")).to_have_text("1")
    visit(page, f"{live_server.url}/notifications/")
    expect(page.get_by_role("main")).to_contain_text("Your first contribution to Ward Commons")
    assert Notification.objects.filter(user=nina, kind="first_contribution").count() == 1
    # No longer a newcomer: the community page offers no more ways to start.
    visit(page, f"{live_server.url}/c/commons/")
    expect(page.get_by_role("region", name="Ways to start")).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_member_filters_the_directory_by_expertise_at_390px(browser, live_server, world, scheme):
    factories.thread(world.owner, world.public, title="Delirium at night", tags=["delirium", "falls"])
    community_services.set_expertise(world.facilitator, world.public, ["delirium"])
    community_services.set_expertise(world.owner, world.public, ["falls"])
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        log_in(page, live_server.url, world.member.email)
        visit(page, f"{live_server.url}/c/commons/")
        page.get_by_role("link", name="Member directory").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Members")
        assert_accessible(page)
        page.get_by_label("Expertise").select_option("delirium")
        page.get_by_role("button", name="Find").click()
        members = page.locator(".member-list")
        expect(members).to_contain_text("Fern Facilitator")
        expect(members).not_to_contain_text("Olive Owner")
        expect(page.get_by_role("list", name="Fern Facilitator can help with")).to_contain_text("delirium")
        expect(page.get_by_text("Level:")).to_have_count(0)  # levels are for facilitators
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, f"the directory scrolls sideways at 390px: {wide}px wide"
        assert_accessible(page)
    finally:
        context.close()
