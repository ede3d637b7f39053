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
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Communities", exact=True).click()
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
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Communities", exact=True).click()
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
    # Not a member yet: the link may have been forwarded, so the address is confirmed first.
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))
    assert not Membership.objects.filter(user__username="nadia", community=world.private).exists()
    [verification] = [m for m in live_worker.wait_for_mail(2) if "/accounts/confirm-email/" in text_of(m)]
    assert verification["To"] == "nadia@example.org"
    confirm = re.search(r"https?://\S+/accounts/confirm-email/[^/\s]+/", text_of(verification)).group(0)
    visit(page, live_server.url + "/" + confirm.split("/", 3)[3])
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_contain_text("Welcome to Zebra Quince Circle! You are now a member.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Zebra Quince Circle")
    assert_accessible(page)
    assert Membership.objects.get(user__username="nadia", community=world.private).state == "active"


def _mailed_path(to: str, pattern: str, *, after: int = 0) -> str:
    """The path of the link in the newest mail to ``to`` matching ``pattern`` (the outbox row the worker sends)."""
    from core.models import OutboundEmail
    from tests.worker import wait_until

    def newest():
        for mail in OutboundEmail.objects.filter(to=to, pk__gt=after).order_by("-pk"):
            if found := re.search(r"https?://[^/\s]+(" + pattern + ")", mail.body_text):
                return found.group(1)
        return None

    return wait_until(newest, timeout=10, what=f"a mail to {to} with {pattern}")


@pytest.fixture
def fresh_browser(browser):
    """Pages in browsers of their own (no shared cookies): someone else's machine."""
    contexts = []

    def open_page():
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def test_a_forwarded_invitation_lets_the_stranger_nowhere_and_the_owner_in_through_the_mail(
    live_server, world, fresh_browser
):
    from allauth.account.models import EmailAddress

    from communities import services as community_services

    base = live_server.url
    community_services.invite(world.facilitator, world.private, "nadia@example.org", "Bring your tapering case.")
    invitation = _mailed_path("nadia@example.org", r"/invitations/[^/\s]+/")

    # Nadia forwards the mail; someone else opens the link in their own browser and signs up with her address.
    stranger = fresh_browser()
    visit(stranger, base + invitation)
    expect(stranger.get_by_role("heading", level=1)).to_have_text("You're invited to Zebra Quince Circle")
    stranger.get_by_role("link", name="Create an account").click()
    expect(stranger.get_by_label("Email")).to_have_value("nadia@example.org")
    sign_up(stranger, email=None, username="mallory", display_name="Mallory", password="borrowed ticket 1")
    expect(stranger).to_have_url(re.compile(r"/accounts/confirm-email/$"))
    assert_accessible(stranger)
    # No way in: the private community is a 404, and signing in stops at "verify your address".
    assert stranger.goto(f"{base}/c/circle/").status == 404
    expect(stranger.get_by_text("Zebra Quince Circle")).to_have_count(0)
    stranger.goto(f"{base}/accounts/login/")
    stranger.get_by_label("Email").fill("nadia@example.org")
    stranger.get_by_label("Password").fill("borrowed ticket 1")
    stranger.get_by_role("button", name="Log in").click()
    expect(stranger).to_have_url(re.compile(r"/accounts/confirm-email/$"))
    assert stranger.goto(f"{base}/c/circle/").status == 404
    assert not Membership.objects.filter(community=world.private, user__username="mallory").exists()

    # Nadia gets the verification mail. Following it in her browser confirms nothing for mallory's password...
    confirm = _mailed_path("nadia@example.org", r"/accounts/confirm-email/[^/\s]+/")
    owner = fresh_browser()
    visit(owner, base + confirm)
    owner.get_by_role("button", name="Confirm").click()
    expect(owner.get_by_role("status")).to_contain_text("log in as mallory in this browser")
    assert not EmailAddress.objects.get(email="nadia@example.org").verified
    # ...and the address is hers, so "Forgot your password?" hands her the account.
    owner.get_by_role("link", name="Forgot your password?").click()
    owner.get_by_label("Email").fill("nadia@example.org")
    before = _latest_mail_pk()
    owner.get_by_role("button", name="Reset My Password").click()
    reset = _mailed_path("nadia@example.org", r"/accounts/password/reset/key/[^/\s]+/", after=before)
    visit(owner, base + reset)
    owner.get_by_label("New Password", exact=True).fill("my own harbour 22")
    owner.get_by_label("New Password (again)").fill("my own harbour 22")
    owner.get_by_role("button", name="Change Password").click()
    expect(owner.get_by_role("heading", level=1)).to_contain_text("Password")

    # She opens her invitation, logs in, and follows the verification mail: she is in.
    visit(owner, base + invitation)
    owner.get_by_role("main").get_by_role("link", name="Log in").click()
    owner.get_by_label("Email").fill("nadia@example.org")
    owner.get_by_label("Password").fill("my own harbour 22")
    owner.get_by_role("button", name="Log in").click()
    expect(owner).to_have_url(re.compile(r"/accounts/confirm-email/$"))
    visit(owner, base + _mailed_path("nadia@example.org", r"/accounts/confirm-email/[^/\s]+/"))
    owner.get_by_role("button", name="Confirm").click()
    expect(owner.get_by_role("status")).to_contain_text("Welcome to Zebra Quince Circle! You are now a member.")
    expect(owner.get_by_role("heading", level=1)).to_have_text("Zebra Quince Circle")
    assert_accessible(owner)
    assert Membership.objects.get(community=world.private, user__email="nadia@example.org").state == "active"

    # The stranger's password no longer opens the account, and the community stays a 404 for them.
    stranger.goto(f"{base}/accounts/login/")
    stranger.get_by_label("Email").fill("nadia@example.org")
    stranger.get_by_label("Password").fill("borrowed ticket 1")
    stranger.get_by_role("button", name="Log in").click()
    expect(stranger.get_by_text("not correct")).to_be_visible()
    assert stranger.goto(f"{base}/c/circle/").status == 404


def _latest_mail_pk() -> int:
    from core.models import OutboundEmail

    latest = OutboundEmail.objects.order_by("-pk").first()
    return latest.pk if latest else 0


def test_outsider_finds_a_restricted_community_asks_to_join_and_reads_its_threads_once_approved(
    page, live_server, restricted
):
    from discussions import services as discussions

    discussions.start_thread(restricted.member, restricted.restricted, title="Umbrella drill notes", body="Step one.")
    log_in(page, live_server.url, restricted.outsider.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Communities", exact=True).click()
    page.get_by_label("Find a community by name or domain").fill("handover drills")
    page.get_by_role("button", name="Search").click()
    card = page.get_by_role("listitem").filter(has_text="Kestrel Lattice Studio")
    expect(card).to_contain_text("Restricted")
    assert_accessible(page)
    card.get_by_role("link", name="Kestrel Lattice Studio").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kestrel Lattice Studio")
    expect(page.get_by_text("Night-shift handover drills, shared among practitioners.")).to_be_visible()
    expect(page.get_by_role("region", name="Facilitators")).to_contain_text("Fern Facilitator")
    expect(page.get_by_text("Umbrella drill notes")).to_have_count(0)
    assert_accessible(page)
    page.get_by_label("Message to the facilitators").fill("I run night drills on a surgical ward.")
    page.get_by_role("button", name="Ask to join").click()
    expect(page.get_by_role("status")).to_contain_text("Your request to join has been sent")
    expect(page.get_by_text("Your request to join is waiting for a facilitator.")).to_be_visible()
    log_out(page)

    log_in(page, live_server.url, restricted.facilitator.email)
    visit(page, f"{live_server.url}/c/studio/facilitate/")
    requests = page.get_by_role("region", name=re.compile("Join requests"))
    expect(requests).to_contain_text("I run night drills on a surgical ward.")
    requests.get_by_role("button", name="Approve Otto Outsider").click()
    expect(page.get_by_role("status")).to_contain_text("request is approved")
    log_out(page)

    log_in(page, live_server.url, restricted.outsider.email)
    visit(page, f"{live_server.url}/c/studio/")
    expect(page.get_by_text("You're a member")).to_be_visible()
    page.get_by_role("link", name="Umbrella drill notes", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Umbrella drill notes")
    assert_accessible(page)
