"""Browser journeys: a member asks for a community and owns it once approved; a newcomer is welcomed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from communities import services
from communities.models import Community, Membership
from core.models import OutboundEmail
from discussions.models import Post
from resources import services as resources
from tests import factories
from tests.browser import assert_accessible, log_in, log_out, visit
from tests.worker import wait_until

pytestmark = pytest.mark.browser


def _mailed_path(to: str, kind: str, pattern: str) -> str:
    """The path of the link matching ``pattern`` in the outbox's mail of ``kind`` to ``to``."""

    def found():
        for mail in OutboundEmail.objects.filter(to=to, kind=kind).order_by("-pk"):
            if match := re.search(r"https?://[^/\s]+(" + pattern + ")", mail.body_text):
                return match.group(1)
        return None

    return wait_until(found, timeout=10, what=f"a {kind} mail to {to}")


def test_member_asks_for_a_community_admin_approves_and_the_mail_leads_to_owning_it(page, live_server, world):
    base = live_server.url
    log_in(page, base, world.outsider.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Communities", exact=True).click()
    page.get_by_role("link", name="Ask for a new community").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask for a new community")
    assert_accessible(page)
    page.get_by_label("Name", exact=True).fill("Night Nurses Circle")
    page.get_by_label("Domain statement").fill("Getting better at night shifts together.")
    page.get_by_label("Why this community").fill("Twelve of us meet monthly; we want a place between meetings.")
    page.get_by_label("Restricted: anyone can find it and ask to join, only members read it").check()
    page.get_by_label("Open: anyone can join").check()
    page.get_by_role("button", name="Send request").click()
    # Refused beside the field, with everything typed kept.
    expect(page.get_by_text("A restricted community can't be open to anyone joining")).to_be_visible()
    expect(page.get_by_label("Why this community")).to_have_value(
        "Twelve of us meet monthly; we want a place between meetings."
    )
    page.get_by_label("On request: facilitators approve").check()
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("status")).to_contain_text("Your request is sent.")
    expect(page.get_by_text("Waiting for a site admin")).to_be_visible()
    assert_accessible(page)
    log_out(page)

    log_in(page, base, world.admin.email)
    visit(page, f"{base}/c/requests/")
    item = page.get_by_role("listitem").filter(has_text="Night Nurses Circle")
    expect(item).to_contain_text("Twelve of us meet monthly")
    item.get_by_role("button", name="Approve Night Nurses Circle").click()
    expect(page.get_by_role("status")).to_contain_text("Night Nurses Circle is created; Otto Outsider owns it")
    assert_accessible(page)
    log_out(page)

    path = _mailed_path(world.outsider.email, "community_request.approved", r"/c/[a-z0-9-]+/")
    assert path == "/c/night-nurses-circle/"
    log_in(page, base, world.outsider.email)
    visit(page, base + path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Night Nurses Circle")
    expect(page.get_by_text("You're an owner")).to_be_visible()
    expect(page.get_by_text("Restricted community")).to_be_visible()
    community = Community.objects.get(slug="night-nurses-circle")
    assert Membership.objects.get(community=community, user=world.outsider).role == "owner"


def test_newcomer_joins_reads_the_welcome_and_introduces_themselves(page, live_server, world):
    base = live_server.url
    intro = factories.thread(world.facilitator, world.public, title="Introduce yourself here", body="Say hello!")
    card = factories.resource(world.facilitator, world.public, title="Handover card", url="https://example.org/h")
    resources.set_pin(world.facilitator, card, "pin")
    services.update_community(
        world.facilitator,
        world.public,
        welcome="Glad you're here. Read the **handover card** first.",
        introductions_thread_id=intro.pk,
    )

    log_in(page, base, world.outsider.email)
    visit(page, f"{base}/c/commons/")
    page.get_by_role("button", name="Join this community").click()
    welcome = page.get_by_role("region", name="Welcome to Ward Commons")
    expect(welcome).to_contain_text("Glad you're here.")
    expect(welcome.get_by_role("region", name="Start here")).to_contain_text("Handover card")
    assert_accessible(page)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(welcome.get_by_role("link", name="Introduce yourself")).to_be_visible()
    welcome.get_by_role("link", name="Introduce yourself").click()
    expect(page).to_have_url(re.compile(rf"/c/commons/t/{intro.pk}/#reply-heading$"))
    page.get_by_label("Your reply").fill("Hi, I'm Otto, a night nurse on the stroke ward.")
    page.get_by_role("button", name="Post reply").click()
    expect(page.get_by_role("status")).to_contain_text("Your reply is posted.")
    assert Post.objects.filter(thread=intro, author=world.outsider).count() == 1
    # Later, the welcome is one link away.
    visit(page, f"{base}/c/commons/")
    expect(page.get_by_role("region", name="Welcome to Ward Commons")).to_have_count(0)
    page.get_by_role("link", name="Welcome & start here").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to Ward Commons")
    assert OutboundEmail.objects.filter(kind="membership.welcome", to=world.outsider.email).count() == 1
