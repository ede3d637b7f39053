"""One way to say it: "Log in", "Sign up", "Log out", in sentence case, on every page and in every mail.

The header said "Log in" and "Sign up" while allauth's pages said "Sign In",
"Sign Up", "Signup", "Sign Out" and its messages "signed in". The crawl below
reads what a person reads (text, titles, button values, aria labels; not
addresses) on the public pages and allauth's pages, as a visitor and as a
member, the messages after logging in and out, and allauth's mails, and
fails on any other spelling.
"""

from __future__ import annotations

import re
from collections import deque
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client

from core.models import OutboundEmail
from core.wording import house_words, house_words_html
from tests import factories
from tests.accounts import GOOD_PASSWORD, LOGIN, SIGNUP, signup_data

pytestmark = pytest.mark.django_db

OTHER_SPELLINGS = re.compile(
    r"\b(?:[Ss]ign[ -]?[Ii]n|[Ss]ign[ -]?[Oo]ut|[Ss]igned (?:in|out)|Sign[ -]Up|[Ss]ignup|Log In|Log Out)\b"
)
PASSWORD = "correct horse battery"  # the world's people (tests/conftest.py)
# Pages no link leads a visitor to, or only after a step the crawl doesn't take.
ALLAUTH_PAGES = [
    LOGIN,
    SIGNUP,
    "/accounts/password/reset/",
    "/accounts/password/reset/done/",
    "/accounts/password/reset/key/1-set-password/",
    "/accounts/confirm-email/",
    "/accounts/confirm-email/no-such-key/",
    "/accounts/inactive/",
    "/accounts/social/login/cancelled/",
    "/accounts/social/login/error/",
    "/accounts/social/signup/",
]
MEMBER_ALLAUTH_PAGES = [
    "/accounts/logout/",
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/password/set/",
    "/accounts/social/connections/",
    "/accounts/reauthenticate/",
]
SKIP = re.compile(r"^/(?:admin|media|static)/|\.(?:ics|xml|txt|png|svg|css|js)$|/feed|/file/|/export")


class Words(HTMLParser):
    """The words a person reads on a page: text outside scripts and styles, and the labels drawn from attributes."""

    SHOWN_ATTRIBUTES = ("aria-label", "title", "alt", "placeholder")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("script", "style"):
            self._hidden += 1
        for name in self.SHOWN_ATTRIBUTES:
            if attributes.get(name):
                self.parts.append(attributes[name])
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.parts.append(attributes["value"])
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def read(html: str) -> Words:
    words = Words()
    words.feed(html)
    return words


def other_spellings(text: str) -> list[str]:
    """The other spellings in ``text``; addresses (…/accounts/signup/) are not words."""
    return sorted(set(OTHER_SPELLINGS.findall(re.sub(r"(?:https?://|/)\S+", "", text))))


def crawl(client: Client, seeds: list[str], limit: int = 120) -> dict[str, str]:
    """Every HTML page reachable from ``seeds`` by links on this site: path → the words on it."""
    seen, queue, pages = set(seeds), deque(seeds), {}
    while queue and len(pages) < limit:
        path = queue.popleft()
        response = client.get(path, follow=True)
        if "text/html" not in response.get("Content-Type", ""):
            continue
        words = read(response.content.decode())
        pages[path] = " ".join(words.parts)
        for href in words.links:
            target = urlsplit(urljoin(path, href))
            if target.netloc not in ("", "testserver") or SKIP.search(target.path):
                continue
            link = target.path + (f"?{target.query}" if target.query else "")
            if link not in seen:
                seen.add(link)
                queue.append(link)
    return pages


@pytest.fixture
def site(world, conversation):
    """Something on every kind of page: a resource, an event, a hosted chat, a reply page."""
    factories.resource(world.facilitator, world.public, title="Night handover checklist", description="Five things")
    factories.event(world.facilitator, world.public, title="Night pain chat", questions=[(0, "First?")])
    factories.event(world.facilitator, world.public, kind="in_person", place="Ward 5", starts=timedelta(days=3))
    return world


def test_public_and_allauth_pages_say_log_in_and_sign_up_only(client, site):
    pages = crawl(client, ["/", "/c/", "/search/", "/no-such-page/", *ALLAUTH_PAGES])
    assert len(pages) > 20 and LOGIN in pages and "/c/commons/" in pages
    wrong = {path: other_spellings(words) for path, words in pages.items() if other_spellings(words)}
    assert wrong == {}


def test_a_members_pages_and_allauths_account_pages_say_log_in_and_log_out_only(client, site):
    client.login(username=site.member.email, password=PASSWORD)
    pages = crawl(client, ["/", "/c/commons/", *MEMBER_ALLAUTH_PAGES])
    assert len(pages) > 20 and "/accounts/email/" in pages
    wrong = {path: other_spellings(words) for path, words in pages.items() if other_spellings(words)}
    assert wrong == {}


def test_the_words_on_the_doors(client, world):
    login = read(client.get(LOGIN).content.decode())
    text = " ".join(" ".join(login.parts).split())
    assert "Log in ·" in text  # the title
    page = client.get(LOGIN).content.decode()
    assert re.search(r"<h1>\s*Log in\s*</h1>", page)
    assert re.search(r"<button[^>]*type=\"submit\"[^>]*>\s*Log in\s*</button>", page)
    assert re.search(r"please <a href=\"/accounts/signup/\">\s*sign up\s*</a>", page)
    page = client.get(SIGNUP).content.decode()
    assert re.search(r"<title>Sign up · ", page) and re.search(r"<h1>\s*Sign up\s*</h1>", page)
    assert re.search(r"<button[^>]*type=\"submit\"[^>]*>\s*Sign up\s*</button>", page)
    assert re.search(r"please <a href=\"/accounts/login/\">\s*log in\s*</a>", page)
    client.login(username=world.member.email, password=PASSWORD)
    page = client.get("/accounts/logout/").content.decode()
    assert re.search(r"<title>Log out · ", page) and "Are you sure you want to log out?" in page
    assert re.search(r"<button[^>]*type=\"submit\"[^>]*>\s*Log out\s*</button>", page)


def messages_on(response) -> list[str]:
    return [" ".join(m.split()) for m in re.findall(r'<li class="message[^"]*">(.*?)</li>', response.content.decode())]


def test_the_messages_after_logging_in_and_out(client, world):
    response = client.post(LOGIN, {"login": world.member.email, "password": PASSWORD}, follow=True)
    assert messages_on(response) == [f"Successfully logged in as {world.member.username}."]
    response = client.post("/accounts/logout/", follow=True)
    assert messages_on(response) == ["You have logged out."]


def test_allauths_mails_say_log_in_and_sign_up_only(client, world):
    client.post(SIGNUP, signup_data())  # the confirmation mail
    client.post(SIGNUP, signup_data(email=world.member.email, username="someone"))  # "you already have an account"
    client.post("/accounts/password/reset/", {"email": world.owner.email})
    client.post("/accounts/password/reset/", {"email": "nobody@example.org"})  # "no account": a sign-up link
    client.login(username=world.member.email, password=PASSWORD)
    client.post("/accounts/email/", {"action_add": "", "email": "mira.second@example.org"})
    client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )
    mails = list(OutboundEmail.objects.order_by("pk"))
    kinds = {mail.kind for mail in mails}
    assert {"email_confirmation_signup", "account_already_exists", "password_reset_key", "unknown_account"} <= kinds
    assert {"email_confirmation", "password_changed"} <= kinds
    wrong = {
        mail.kind: other_spellings(f"{mail.subject}\n{mail.body_text}\n{mail.body_html}")
        for mail in mails
        if other_spellings(f"{mail.subject}\n{mail.body_text}\n{mail.body_html}")
    }
    assert wrong == {}


def test_the_rewording_touches_words_not_markup_or_what_was_typed():
    assert house_words("Sign In") == "Log in" and house_words("Signup") == "Sign up"
    assert house_words("to finalize the signup process") == "to finalize the sign-up process"
    address = "Sign up: https://forum.example.org/accounts/signup/?next=/sign in/ or signup.example.org."
    assert house_words(address) == address
    assert house_words("Please sign in, or Sign Out; you signed in.") == "Please log in, or Log out; you logged in."
    assert house_words("Signups, signing in, Sign Inn, design in") == "Signups, signing in, Sign Inn, design in"
    fragment = (
        '<h1>Sign In</h1><input name="display_name" value="Sign In"><a title="x" href="/sign in/">sign up</a>'
        "<script>var label = 'Sign In';</script><!-- Sign In -->"
    )
    assert house_words_html(fragment) == (
        '<h1>Log in</h1><input name="display_name" value="Sign In"><a title="x" href="/sign in/">sign up</a>'
        "<script>var label = 'Sign In';</script><!-- Sign In -->"
    )
