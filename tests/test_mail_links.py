"""Every link in every email is on SITE_URL, whatever Host and port the request named.

A password reset asked for with a forged Host header must not mail a link to
the forger's server, and one asked for through another port (a proxy, a
second `make run`) must not mail a link to that port. allauth builds its links
from the request, so its mails are the ones at risk; they also greeted people
with an empty site name ("Hello from !").
"""

from __future__ import annotations

import re

import pytest

from core.models import OutboundEmail
from tests.accounts import SIGNUP, signup_data

SITE_URL = "https://forum.example.org"
URL = re.compile(r"""https?://[^\s"'<>]+""")


@pytest.fixture(params=["127.0.0.1:9999", "evil.example:8443"])
def host(request, settings) -> str:
    settings.SITE_URL = SITE_URL
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "evil.example"]
    return request.param


def links(row: OutboundEmail) -> list[str]:
    return URL.findall(row.body_text) + URL.findall(row.body_html)


def assert_all_links_on_site(row: OutboundEmail, host: str) -> None:
    found = links(row)
    assert found, f"no link in the {row.kind} mail:\n{row.body_text}"
    for url in found:
        assert url.startswith(SITE_URL + "/"), f"{row.kind} mail links to {url}"
    for part in (row.subject, row.body_text, row.body_html):
        assert host not in part
        assert host.split(":")[1] not in part


def assert_greets_by_site_name(row: OutboundEmail) -> None:
    assert "Hello from copsite!" in row.body_text
    assert "Thank you for using copsite!\nforum.example.org" in row.body_text
    assert row.subject.startswith("[copsite] ")


def test_password_reset_mail_links_to_site_url_and_names_the_site(client, member, host):
    response = client.post("/accounts/password/reset/", {"email": member.email}, HTTP_HOST=host)
    assert response.status_code == 302
    row = OutboundEmail.objects.get(to=member.email)
    assert "/accounts/password/reset/key/" in row.body_text
    assert_all_links_on_site(row, host)
    assert_greets_by_site_name(row)


def test_reset_for_an_unknown_address_links_to_site_url(client, host, db):
    client.post("/accounts/password/reset/", {"email": "nobody@example.org"}, HTTP_HOST=host)
    row = OutboundEmail.objects.get(to="nobody@example.org")
    assert f"{SITE_URL}/accounts/signup/" in row.body_text
    assert "tried to access an account with email nobody@example.org." in row.body_text
    assert_all_links_on_site(row, host)
    assert_greets_by_site_name(row)


def test_signup_verification_mail_links_to_site_url_and_names_the_site(client, host, db):
    response = client.post(SIGNUP, signup_data(), HTTP_HOST=host)
    assert response.status_code == 302
    row = OutboundEmail.objects.get(to="newcomer@example.org")
    assert f"{SITE_URL}/accounts/confirm-email/" in row.body_text
    assert_all_links_on_site(row, host)
    assert_greets_by_site_name(row)
    # The link works: opened on the site, it confirms the address.
    path = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^/\s]+/)", row.body_text).group(1)
    assert b"newcomer@example.org" in client.get(path).content


def test_signup_with_a_taken_address_mails_links_to_site_url(client, member, host):
    client.post(SIGNUP, signup_data(email=member.email, username="someone"), HTTP_HOST=host)
    row = OutboundEmail.objects.get(to=member.email)
    assert f"{SITE_URL}/accounts/password/reset/" in row.body_text
    assert_all_links_on_site(row, host)
    assert_greets_by_site_name(row)


def test_invitation_mail_links_to_site_url(client, world, host):
    client.force_login(world.facilitator)
    response = client.post(
        "/c/circle/facilitate/invite/", {"email": "newbie@example.org", "message": "Come share cases"}, HTTP_HOST=host
    )
    assert response.status_code == 302
    row = OutboundEmail.objects.get(to="newbie@example.org", kind="membership.invitation")
    assert f"{SITE_URL}/invitations/" in row.body_text and row.body_html
    assert_all_links_on_site(row, host)


# --- Every other mail: allauth's account mails, notifications, digests, memberships, events -----

PASSWORD = "correct horse battery"  # the world's people (tests/conftest.py)


def assert_on_site(row: OutboundEmail, host: str, *, links_expected: bool = True) -> None:
    """Every link on SITE_URL (at least one where the mail is about something to open); no trace of ``host``."""
    found = links(row)
    assert bool(found) or not links_expected, f"no link in the {row.kind} mail:\n{row.body_text}"
    for url in found:
        assert url.startswith(SITE_URL + "/"), f"{row.kind} mail links to {url}"
    for part in (row.subject, row.body_text, row.body_html):
        assert host not in part and f":{host.split(':')[1]}" not in part


def test_allauths_account_mails_link_to_site_url_and_greet_by_site_name(client, member, host):
    """Adding an address, changing the password, removing the address."""
    client.login(username=member.email, password=PASSWORD)
    client.post("/accounts/email/", {"action_add": "", "email": "mira.second@example.org"}, HTTP_HOST=host)
    row = OutboundEmail.objects.get(to="mira.second@example.org", kind="email_confirmation")
    assert f"{SITE_URL}/accounts/confirm-email/" in row.body_text
    assert_on_site(row, host)
    assert_greets_by_site_name(row)
    client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": "a slow river of tea", "password2": "a slow river of tea"},
        HTTP_HOST=host,
    )
    client.post("/accounts/email/", {"action_remove": "", "email": "mira.second@example.org"}, HTTP_HOST=host)
    notices = OutboundEmail.objects.filter(to=member.email).exclude(kind="email_confirmation")
    assert {"password_changed", "email_deleted"} <= {row.kind for row in notices}
    for row in notices:
        assert_on_site(row, host, links_expected=False)
        assert_greets_by_site_name(row)


def test_the_adapter_builds_allauths_links_on_site_url_whatever_the_request(rf, member, settings):
    from allauth.account.models import EmailAddress, EmailConfirmationHMAC

    from accounts.adapter import AccountAdapter

    settings.SITE_URL = SITE_URL
    adapter = AccountAdapter(rf.get("/", HTTP_HOST="127.0.0.1:9999"))
    assert adapter.get_reset_password_from_key_url("3-abc-def") == f"{SITE_URL}/accounts/password/reset/key/3-abc-def/"
    confirmation = EmailConfirmationHMAC(EmailAddress.objects.get(user=member))
    url = adapter.get_email_confirmation_url(rf.get("/", HTTP_HOST="evil.example:8443"), confirmation)
    assert url == f"{SITE_URL}/accounts/confirm-email/{confirmation.key}/"


def test_notification_mail_for_a_reply_posted_through_another_host_links_to_site_url(client, world, conversation, host):
    from django.utils import timezone

    from notifications import email as notify

    client.force_login(world.facilitator)
    reply = f"/c/commons/t/{conversation.thread.pk}/reply/"
    response = client.post(
        reply,
        {f"to{conversation.opening.pk}-body": "Try the abbey scale", "parent": conversation.opening.pk},
        HTTP_HOST=host,
    )
    assert response.status_code == 302
    notify.sweep(timezone.now())
    row = OutboundEmail.objects.get(to=world.member.email, kind__startswith="notification")
    assert f"{SITE_URL}/p/" in row.body_text
    assert_on_site(row, host)


def test_join_decision_mails_link_to_site_url(client, world, host):
    from communities.models import Membership

    client.force_login(world.owner)
    pending = Membership.objects.get(user=world.pending, community=world.approval)
    client.post(f"/c/guild/members/{pending.pk}/approve/", HTTP_HOST=host)
    row = OutboundEmail.objects.get(to=world.pending.email, kind="membership.approved")
    assert f"{SITE_URL}/c/guild/" in row.body_text
    assert_on_site(row, host)


def test_digest_and_event_mails_link_to_site_url(world, conversation, settings):
    from datetime import timedelta

    from django.utils import timezone

    from communities.models import Membership
    from digests import building, planning
    from events import services as events
    from events.models import RSVP
    from tests import factories

    settings.SITE_URL = SITE_URL
    Membership.objects.filter(user=world.outsider).delete()
    factories.membership(world.outsider, world.public, digest_cadence="daily")
    type(world.outsider).objects.filter(pk=world.outsider.pk).update(digest_hour=timezone.now().hour, time_zone="UTC")
    ids = planning.plan(timezone.now())
    building.build(ids, timezone.now())
    digest = OutboundEmail.objects.get(to=world.outsider.email, kind="digest")
    assert f"{SITE_URL}/c/commons/t/{conversation.thread.pk}/" in digest.body_text
    assert_on_site(digest, "127.0.0.1:8000")

    event = factories.event(world.facilitator, world.public, starts=timedelta(minutes=30), questions=[(5, "First?")])
    RSVP.objects.create(event=event, user=world.member, answer=RSVP.Answer.GOING)
    events.send_reminders(timezone.now())
    events.cancel_event(world.facilitator, event)
    for kind in ("event.reminder", "event.cancelled"):
        row = OutboundEmail.objects.get(to=world.member.email, kind=kind)
        assert f"{SITE_URL}{event.get_absolute_url()}" in row.body_text
        assert_on_site(row, "127.0.0.1:8000")


def test_the_sites_row_names_the_site_after_migrate(settings, db):
    from django.contrib.sites.models import Site
    from django.contrib.sites.shortcuts import get_current_site

    from accounts.sites import name_the_site

    # The test database was migrated with the test settings: the row already says so.
    assert Site.objects.get_current().name == settings.COPSITE_NAME
    settings.SITE_URL, settings.COPSITE_NAME = "https://forum.example.org:8443", "Ward Practice"
    name_the_site()
    site = get_current_site(None)
    assert (site.name, site.domain) == ("Ward Practice", "forum.example.org:8443")
    assert Site.objects.count() == 1
