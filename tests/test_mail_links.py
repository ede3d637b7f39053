"""Every link in every email is on SITE_URL, whatever Host and port the request named (issue 20 finding 6, issue 15).

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
