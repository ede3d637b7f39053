"""The welcome: written by facilitators, shown once right after joining, emailed once per membership."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client

from communities import services
from communities.models import Membership
from core.models import OutboundEmail
from core.tasks import send_email
from resources import services as resources
from tests import factories

pytestmark = pytest.mark.django_db
WELCOME = "Glad you're here. Read the **handover card** first."


def text(response) -> str:
    return unescape(response.content.decode())


edit_data = factories.settings_form


@pytest.fixture
def welcoming(world):
    """Ward Commons with a welcome, an introductions thread and two resources pinned to Start here."""
    intro = factories.thread(world.facilitator, world.public, title="Introduce yourself here", body="Say hello!")
    card = factories.resource(world.facilitator, world.public, title="Handover card", url="https://example.org/h")
    guide = factories.resource(world.facilitator, world.public, title="Night guide", url="https://example.org/g")
    resources.set_pin(world.facilitator, guide, "pin")
    resources.set_pin(world.facilitator, card, "pin")
    services.update_community(world.facilitator, world.public, welcome=WELCOME, introductions_thread_id=intro.pk)
    world.public.refresh_from_db()
    world.intro = intro
    return world


def welcome_mails(user) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(kind="membership.welcome", to=user.email))


def test_facilitator_writes_the_welcome_and_chooses_the_introductions_thread(client, world):
    intro = factories.thread(world.member, world.public, title="Introductions")
    client.force_login(world.facilitator)
    form = text(client.get("/c/commons/edit/"))
    assert "Welcome for new members" in form and "Introductions thread" in form
    assert f'<option value="{intro.pk}">Introductions</option>' in form
    hostile = "Hi <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    data = edit_data(world.public, welcome=hostile, introductions_thread_id=intro.pk)
    response = client.post("/c/commons/edit/", data)
    assert response.status_code == 302
    world.public.refresh_from_db()
    assert world.public.introductions_thread_id == intro.pk
    assert world.public.welcome == hostile
    html = world.public.welcome_html
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert html.startswith("<p>Hi ")
    # The page shows it as text, inside the block htmx ignores.
    page = client.get("/c/commons/welcome/").content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_thread_of_another_community_is_refused_and_the_welcome_kept(client, world, conversation):
    client.force_login(world.owner)
    other = conversation.private_thread
    data = edit_data(world.public, welcome="Typed welcome stays.", introductions_thread_id=other.pk)
    response = client.post("/c/commons/edit/", data)
    assert response.status_code == 200
    page = text(response)
    assert "Select a valid choice" in page and "Typed welcome stays." in page
    assert other.title not in page  # another community's thread is never offered or echoed
    world.public.refresh_from_db()
    assert world.public.introductions_thread_id is None and world.public.welcome == ""
    # The service refuses it too (a forged form, the admin).
    with pytest.raises(services.CommunityError):
        services.update_community(world.owner, world.public, introductions_thread_id=other.pk)


def test_a_welcome_too_long_is_refused_and_kept(client, world):
    client.force_login(world.facilitator)
    response = client.post("/c/commons/edit/", edit_data(world.public, welcome="w" * 5001))
    assert response.status_code == 200
    assert "at most 5000 characters" in text(response) and "w" * 5001 in text(response)
    world.public.refresh_from_db()
    assert world.public.welcome == ""


def test_edit_without_csrf_token_changes_nothing(world):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(world.facilitator)
    response = csrf_client.post("/c/commons/edit/", edit_data(world.public, welcome="Forged"))
    assert response.status_code == 403
    world.public.refresh_from_db()
    assert world.public.welcome == ""


def test_the_welcome_shows_once_after_joining_with_start_here_and_introductions(client, welcoming):
    world = welcoming
    client.force_login(world.outsider)
    response = client.post("/c/commons/join/", follow=True)
    page = text(response)
    assert response.redirect_chain == [("/c/commons/", 302)]
    assert "Welcome to Ward Commons" in page
    assert "<strong>handover card</strong>" in page
    start = page[page.index('id="welcome-start-here-heading"') :]
    assert start.index("Handover card") > start.index("Night guide")  # the facilitators' order: pinned first
    link = f'href="/c/commons/t/{world.intro.pk}/#reply-heading"'
    assert link in page and "Introduce yourself" in page
    # Once: the next visit is the usual page, with the way back to it.
    again = text(client.get("/c/commons/"))
    assert 'id="welcome-heading"' not in again
    assert "Welcome &amp; start here" in client.get("/c/commons/").content.decode()
    reopened = text(client.get("/c/commons/welcome/"))
    assert "Welcome to Ward Commons" in reopened and link in reopened


def test_the_introductions_link_opens_the_threads_reply_box(client, welcoming):
    world = welcoming
    client.force_login(world.outsider)
    client.post("/c/commons/join/")
    page = client.get("/c/commons/welcome/").content.decode()
    href = re.search(r'href="(/c/commons/t/\d+/)#reply-heading"', page).group(1)
    thread_page = client.get(href).content.decode()
    assert 'id="reply-heading"' in thread_page
    assert f'action="/c/commons/t/{world.intro.pk}/reply/"' in thread_page
    response = client.post(f"/c/commons/t/{world.intro.pk}/reply/", {"body": "Hi, I'm Otto, a night nurse."})
    assert response.status_code == 302
    assert "I&#x27;m Otto" in client.get(href).content.decode() or "I'm Otto" in text(client.get(href))


def test_the_welcome_is_emailed_once_whatever_happens(client, welcoming):
    world = welcoming
    client.force_login(world.outsider)
    client.post("/c/commons/join/")
    client.post("/c/commons/join/")  # a double click
    client.post("/c/commons/leave/")
    client.post("/c/commons/join/")  # leave and rejoin
    [mail] = welcome_mails(world.outsider)
    assert mail.subject == "Welcome to Ward Commons"
    assert "Read the **handover card** first." in mail.body_text and "/c/commons/welcome/" in mail.body_text
    assert "<strong>handover card</strong>" in mail.body_html
    # A retried send task (a redelivered message) sends that one row once.
    assert send_email.apply(args=[mail.pk]).get() == "sent"
    assert send_email.apply(args=[mail.pk]).get() == "skipped"
    # Rejoining shows the welcome again on the page, without mail.
    assert 'id="welcome-heading"' in client.get("/c/commons/").content.decode()


def test_approved_and_invited_members_are_welcomed_too(client, world):
    services.update_community(world.owner, world.approval, welcome="Welcome, guild member.")
    services.update_community(world.owner, world.private, welcome="Welcome to the circle.")
    services.join(world.outsider, world.approval, "Hello")
    pending = Membership.objects.get(user=world.outsider, community=world.approval)
    services.decide_request(world.owner, world.approval, pending.pk, approve=True)
    invitation = services.invite(world.owner, world.private, world.outsider.email)
    services.accept_invitation(world.outsider, invitation)
    assert sorted(m.subject for m in welcome_mails(world.outsider)) == [
        "Welcome to Rehab Guild",
        "Welcome to Zebra Quince Circle",
    ]
    client.force_login(world.outsider)
    assert "Welcome, guild member." in text(client.get("/c/guild/"))
    assert "Welcome to the circle." in text(client.get("/c/circle/"))
    assert "Welcome to the circle." not in text(client.get("/c/circle/"))  # once


def test_a_community_without_a_welcome_still_works(client, world):
    client.force_login(world.outsider)
    response = client.post("/c/commons/join/", follow=True)
    page = text(response)
    assert "Welcome to Ward Commons! You are now a member." in page
    assert "Welcome to Ward Commons" in page and "Getting better at ward rounds." in page
    assert 'id="introduce-heading"' not in page and 'id="welcome-start-here-heading"' not in page
    assert welcome_mails(world.outsider) == []
    assert client.get("/c/commons/welcome/").status_code == 200


def test_only_members_read_the_welcome(client, welcoming):
    world = welcoming
    assert client.get("/c/commons/welcome/")["Location"].startswith("/accounts/login/")
    client.force_login(world.outsider)
    assert client.get("/c/commons/welcome/")["Location"] == "/c/commons/"
    response = client.get("/c/circle/welcome/")
    assert response.status_code == 404 and "Zebra" not in response.content.decode()
