"""Sign-up, verification, login, rate limits and the profile, through the HTTP layer."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from accounts.models import User
from core.models import OutboundEmail
from tests.accounts import GOOD_PASSWORD, LOGIN, SIGNUP, signup_data


def confirmation_path(row: OutboundEmail) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^/\s]+/)", row.body_text)
    assert match, row.body_text
    return match.group(1)


@pytest.mark.django_db
def test_signup_creates_unverified_account_and_queues_verification_email(client):
    response = client.post(SIGNUP, signup_data())
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(username="newcomer")
    assert user.display_name == "New Comer"
    assert not EmailAddress.objects.get(user=user).verified
    row = OutboundEmail.objects.get(to="newcomer@example.org")
    assert row.state == OutboundEmail.State.PENDING
    assert "confirm" in row.subject.lower()
    page = client.get("/accounts/confirm-email/")
    assert b"Verify Your Email Address" in page.content or b"verification" in page.content.lower()


@pytest.mark.django_db
def test_unverified_person_cannot_log_in_until_they_open_the_link(client):
    client.post(SIGNUP, signup_data())
    client.logout()
    response = client.post(LOGIN, {"login": "newcomer@example.org", "password": GOOD_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session

    path = confirmation_path(OutboundEmail.objects.filter(to="newcomer@example.org").latest("created_at"))
    page = client.get(path)
    assert page.status_code == 200 and b"newcomer@example.org" in page.content
    # Confirming takes a POST (a mail scanner's GET must not confirm).
    assert not EmailAddress.objects.get(email="newcomer@example.org").verified
    client.post(path)
    assert EmailAddress.objects.get(email="newcomer@example.org").verified

    client.logout()
    response = client.post(LOGIN, {"login": "newcomer@example.org", "password": GOOD_PASSWORD})
    assert response.status_code == 302
    home = client.get("/")
    assert b"New Comer" in home.content


@pytest.mark.django_db
def test_tampered_confirmation_key_is_refused(client):
    client.post(SIGNUP, signup_data())
    path = confirmation_path(OutboundEmail.objects.get(to="newcomer@example.org"))
    tampered = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    page = client.get(tampered)
    assert b"expired or is invalid" in page.content
    client.post(tampered)
    assert not EmailAddress.objects.get(email="newcomer@example.org").verified


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"email": ""}, "email", "This field is required."),
        ({"password1": "password", "password2": "password"}, "password1", "This password is too common."),
        ({"password1": "short1", "password2": "short1"}, "password1", "at least 10 characters"),
        ({"password2": "something else entirely"}, "password2", "You must type the same password each time."),
        ({"username": "admin"}, "username", "Username can not be used"),
        ({"username": "<script>x</script>"}, "username", "Enter a valid username"),
        ({"display_name": "evil\u202egnp.exe"}, "display_name", "control or invisible formatting characters"),
        ({"display_name": "nul\x00byte"}, "display_name", "Null characters are not allowed."),
    ],
)
def test_bad_signup_shows_a_clear_error_and_keeps_what_was_typed(client, overrides, field, message):
    data = signup_data(**overrides)
    response = client.post(SIGNUP, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert f'id="id_{field}_error"' in html or "errorlist" in html
    assert not User.objects.exists()
    assert not OutboundEmail.objects.exists()
    # What the person typed is still in the form (passwords are not echoed).
    if field != "email":
        assert 'value="newcomer@example.org"' in html
    if field not in {"username"}:
        assert 'value="newcomer"' in html


@pytest.mark.django_db
def test_duplicate_email_does_not_reveal_the_account_but_tells_its_owner(client, make_user):
    make_user("existing", email="newcomer@example.org")
    response = client.post(SIGNUP, signup_data(username="someone-else"))
    # Same answer as a fresh sign-up: no way to learn who has an account here.
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert not User.objects.filter(username="someone-else").exists()
    row = OutboundEmail.objects.get(to="newcomer@example.org")
    assert "already" in (row.subject + row.body_text).lower()


@pytest.mark.django_db
def test_duplicate_username_is_a_clear_error(client, make_user):
    make_user("newcomer", email="first@example.org")
    response = client.post(SIGNUP, signup_data())
    assert response.status_code == 200
    assert b"A user with that username already exists." in response.content
    assert b'value="newcomer@example.org"' in response.content


@pytest.mark.django_db
def test_honeypot_filled_by_a_bot_creates_nothing(client):
    response = client.post(SIGNUP, signup_data(website="http://spam.example"))
    assert response.status_code == 302
    assert not User.objects.exists()
    assert not OutboundEmail.objects.exists()


@pytest.mark.django_db
def test_login_is_by_email_and_wrong_password_is_a_clear_error(client, member):
    response = client.post(LOGIN, {"login": member.email, "password": "wrong password"})
    assert response.status_code == 200
    assert b"The email address and/or password you specified are not correct." in response.content
    assert f'value="{member.email}"'.encode() in response.content
    response = client.post(LOGIN, {"login": member.email, "password": "correct horse battery"})
    assert response.status_code == 302
    assert client.get("/").content.count(b"Mira Member") >= 1


@pytest.mark.django_db
def test_failed_logins_for_one_account_are_rate_limited(client, member):
    for _ in range(5):
        response = client.post(LOGIN, {"login": member.email, "password": "nope nope nope"})
        assert b"not correct" in response.content
    response = client.post(LOGIN, {"login": member.email, "password": "correct horse battery"})
    # The sixth attempt within five minutes is refused even with the right password.
    assert response.status_code == 200
    assert b"Too many failed login attempts. Try again later." in response.content
    assert "_auth_user_id" not in client.session


ATTACKER_IP, HOME_IP = "203.0.113.66", "198.51.100.10"


def _log_in(client, email: str, password: str, **extra):
    return client.post(LOGIN, {"login": email, "password": password}, **extra)


@pytest.mark.django_db
def test_a_strangers_wrong_passwords_do_not_lock_the_member_out(client, member):
    """Five wrong passwords lock out the address they came from, not the account."""
    attacker = Client()
    for _ in range(6):
        _log_in(attacker, member.email, "nope nope nope", REMOTE_ADDR=ATTACKER_IP)
    refused = _log_in(attacker, member.email, "correct horse battery", REMOTE_ADDR=ATTACKER_IP)
    assert b"Too many failed login attempts. Try again later." in refused.content
    assert "_auth_user_id" not in attacker.session

    response = _log_in(client, member.email, "correct horse battery", REMOTE_ADDR=HOME_IP)
    assert response.status_code == 302
    assert client.get("/").content.count(b"Mira Member") >= 1


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_limit_counts_the_forwarded_client_address(client, member, settings):
    """With TRUSTED_PROXY_COUNT=1 every request comes from the proxy; X-Forwarded-For tells the clients apart."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    attacker = Client()
    for _ in range(6):
        _log_in(attacker, member.email, "nope", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER_IP}")
    refused = _log_in(
        attacker, member.email, "correct horse battery", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=ATTACKER_IP
    )
    assert b"Too many failed login attempts" in refused.content
    # A forged first entry does not help the attacker: the proxy's entry is the one counted.
    forged = _log_in(
        attacker,
        member.email,
        "correct horse battery",
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=f"{HOME_IP}, {ATTACKER_IP}",
    )
    assert b"Too many failed login attempts" in forged.content
    response = _log_in(client, member.email, "correct horse battery", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=HOME_IP)
    assert response.status_code == 302


@pytest.mark.django_db
def test_one_ipv6_network_counts_as_one_address_for_failed_logins(client, member):
    """A host owns its whole /64: hopping between its addresses does not buy more guesses."""
    for n in range(5):
        _log_in(client, member.email, "nope", REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}")
    refused = _log_in(client, member.email, "correct horse battery", REMOTE_ADDR="2001:db8:1:2::ff")
    assert b"Too many failed login attempts" in refused.content
    other_network = Client()
    response = _log_in(other_network, member.email, "correct horse battery", REMOTE_ADDR="2001:db8:9::1")
    assert response.status_code == 302


@pytest.mark.django_db
def test_signups_from_one_address_are_rate_limited(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "3/m/ip"}
    for i in range(3):
        client.post(SIGNUP, signup_data(email=f"p{i}@example.org", username=f"p{i}"))
        client.logout()
    response = client.post(SIGNUP, signup_data(email="p9@example.org", username="p9"))
    assert response.status_code == 429
    assert b"Too many attempts" in response.content
    assert User.objects.count() == 3


@pytest.mark.django_db
def test_logout_needs_a_post_and_ends_the_session(client, member):
    client.force_login(member)
    page = client.get("/accounts/logout/")
    assert page.status_code == 200
    assert "_auth_user_id" in client.session
    client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_login_ignores_an_offsite_next(client, member):
    for target in ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)"]:
        client.logout()
        response = client.post(f"{LOGIN}?next={target}", {"login": member.email, "password": "correct horse battery"})
        assert response.status_code == 302
        assert response["Location"] == "/", target


@pytest.mark.django_db
def test_password_reset_answers_the_same_for_known_and_unknown_email(client, member):
    known = client.post("/accounts/password/reset/", {"email": member.email})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    reset_mail = OutboundEmail.objects.get(to=member.email)
    assert "/accounts/password/reset/key/" in reset_mail.body_text


@pytest.mark.django_db
def test_profile_page_shows_name_bio_and_empty_contributions(client, member):
    member.bio = "Ward nurse <b>not bold</b>"
    member.save()
    page = client.get(reverse("accounts:profile", kwargs={"username": "mira"}))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<title>Mira Member · copsite</title>" in html
    assert "Ward nurse &lt;b&gt;not bold&lt;/b&gt;" in html
    assert "No public contributions yet." in html
    assert client.get("/u/nobody/").status_code == 404


@pytest.mark.django_db
def test_profile_edit_saves_and_rejects_bad_input_keeping_it(client, member):
    client.force_login(member)
    url = reverse("accounts:edit-profile")
    bad = client.post(url, {"display_name": "M" * 81, "bio": "x" * 501, "time_zone": "Mars/Olympus"})
    html = bad.content.decode()
    assert bad.status_code == 200
    assert "Ensure this value has at most 80 characters" in html
    assert "Ensure this value has at most 500 characters" in html
    assert "Select a valid choice." in html
    assert "M" * 81 in html
    member.refresh_from_db()
    assert member.display_name == "Mira Member"

    good = client.post(
        url, {"display_name": "Mira M.", "bio": "{{ 7|add:1 }} {% now 'Y' %}", "time_zone": "Europe/Berlin"}
    )
    assert good.status_code == 302
    member.refresh_from_db()
    assert (member.display_name, member.time_zone) == ("Mira M.", "Europe/Berlin")
    profile = client.get(member.get_absolute_url()).content.decode()
    assert "{{ 7|add:1 }} {% now &#x27;Y&#x27; %}" in profile


@pytest.mark.django_db
def test_names_are_one_line_whatever_is_typed(client, member):
    """A display name shows in From headers and page titles: line breaks fold into spaces."""
    client.force_login(member)
    response = client.post(
        reverse("accounts:edit-profile"),
        {"display_name": "Mira\r\nBcc: evil@example.com\n\tM.", "bio": "line one\nline two", "time_zone": "UTC"},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.display_name == "Mira Bcc: evil@example.com M."
    assert member.bio == "line one\nline two"  # a bio keeps its paragraphs


def test_profile_edit_needs_login(client, db):
    response = client.get(reverse("accounts:edit-profile"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
