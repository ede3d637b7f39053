"""Browser journeys for communities: join, request + approve, invite + sign up (Chromium, axe-core)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from communities.models import Membership
from tests.browser import assert_accessible, log_in, log_out, sign_up, visit
from tests.worker import text_of

pytestmark = pytest.mark.browser


def test_member_finds_and_joins_an_open_community(page, live_server, world):
    log_in(page, live_server.url, world.outsider.email)
    page.get_by_role("link", name="Communities").click()
    assert_accessible(page)
    page.get_by_label("Find a community by name or domain").fill("ward rounds")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Ward Commons").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ward Commons")
    assert_accessible(page)
    page.get_by_role("button", name="Join this community").click()
    expect(page.get_by_role("status")).to_contain_text("Welcome to Ward Commons! You are now a member.")
    expect(page.get_by_text("You're a member")).to_be_visible()
    assert_accessible(page)
    assert Membership.objects.get(user=world.outsider, community=world.public).state == "active"


def test_request_approved_from_the_dashboard_then_member_sees_the_community(page, live_server, world):
    log_in(page, live_server.url, world.outsider.email)
    visit(page, f"{live_server.url}/c/guild/")
    page.get_by_label("Message to the facilitators").fill("I lead a back-pain class and want to learn.")
    page.get_by_role("button", name="Ask to join").click()
    expect(page.get_by_role("status")).to_contain_text("Your request to join has been sent")
    expect(page.get_by_text("Your request to join is waiting for a facilitator.")).to_be_visible()
    log_out(page)

    log_in(page, live_server.url, world.owner.email)
    visit(page, f"{live_server.url}/c/guild/facilitate/")
    requests = page.get_by_role("region", name=re.compile("Join requests"))
    expect(requests).to_contain_text("I lead a back-pain class and want to learn.")
    requests.get_by_role("button", name="Approve Otto Outsider").click()
    expect(page.get_by_role("status")).to_contain_text("request is approved")
    assert_accessible(page)
    log_out(page)

    log_in(page, live_server.url, world.outsider.email)
    visit(page, f"{live_server.url}/c/guild/")
    expect(page.get_by_text("You're a member")).to_be_visible()
    page.get_by_role("link", name="Communities").click()
    expect(page.get_by_role("listitem").filter(has_text="Rehab Guild")).to_contain_text("You're a member")


@pytest.mark.live_worker
def test_facilitator_invites_by_email_and_invitee_signs_up_through_the_link(page, live_server, world, live_worker):
    log_in(page, live_server.url, world.facilitator.email)
    visit(page, f"{live_server.url}/c/circle/facilitate/")
    page.get_by_label("Email address to invite").fill("nadia@example.org")
    page.get_by_label("Personal note").fill("Bring your toughest tapering case.")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to nadia@example.org")
    log_out(page)

    [message] = live_worker.wait_for_mail(1)
    assert message["To"] == "nadia@example.org"
    link = re.search(r"https?://\S+/invitations/\S+/", text_of(message)).group(0)
    # The mail's links point at SITE_URL; the journey follows the same path on the test server.
    path = "/" + link.split("/", 3)[3]
    visit(page, live_server.url + path)
    expect(page.get_by_role("heading", level=1)).to_have_text("You're invited to Zebra Quince Circle")
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_label("Email")).to_have_value("nadia@example.org")
    sign_up(page, email=None, username="nadia", display_name="Nadia Haddad", password="quiet harbour lights")
    page.get_by_role("button", name="Accept and join").click()
    expect(page.get_by_role("status")).to_contain_text("Welcome to Zebra Quince Circle! You are now a member.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Zebra Quince Circle")
    assert_accessible(page)
    assert Membership.objects.get(user__username="nadia", community=world.private).state == "active"
