"""Open redirects: ``next=`` only ever goes to this site.

Every place a visitor can steer a redirect gets the classic escapes:
protocol-relative, backslash, tab and encoded variants, other schemes,
userinfo tricks and CR/LF. The Location of each answer is resolved the way a
browser resolves it (tabs and newlines dropped, backslashes read as slashes,
relative to the page) and must land on this site.

The places: allauth's login (posting, and visiting it while logged in),
sign-up and logout, which take ``next``; our own views' ``next``/``back``
fields, which only ever compare against fixed words; and URLs whose path is
itself an escape, which CommonMiddleware redirects to add a slash. A scan of
the source keeps that list complete: a new view reading a parameter named
like a redirect target fails ``test_every_redirect_parameter_is_known``.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db

NEXT_VALUES = [
    "//evil.example",
    "///evil.example",
    "https://evil.example",
    "http:evil.example",
    "https:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",
    " //evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://testserver@evil.example",
    "https://evil.example\\@testserver",
    "/\r\nLocation: https://evil.example",
    "%0d%0aLocation:%20https://evil.example",
]
SITE_HOST = "testserver"


def lands_on_site(location: str, page: str) -> bool:
    """Where a browser would go: tabs/newlines dropped, backslash as slash, resolved against the page."""
    cleaned = re.sub(r"[\t\r\n]", "", location).strip().replace("\\", "/")
    target = urlsplit(urljoin(f"http://{SITE_HOST}{page}", cleaned))
    return target.scheme in ("http", "https") and target.hostname == SITE_HOST and "evil" not in (target.netloc or "")


def assert_redirect_stays_on_site(response, page: str, value: str) -> None:
    assert response.status_code in (301, 302, 303), (value, response.status_code)
    location = response["Location"]
    assert "\r" not in location and "\n" not in location
    assert lands_on_site(location, page), (value, location)


def test_the_check_catches_what_it_should():
    for bad in ["//evil.example", "https://evil.example", "/\\evil.example", "/\t/evil.example", "javascript:x"]:
        assert not lands_on_site(bad, "/accounts/login/")
    for good in ["/", "/c/commons/", "?next=//evil.example", "http://testserver/x", "%2F%2Fevil.example"]:
        assert lands_on_site(good, "/accounts/login/")


@pytest.mark.parametrize("value", NEXT_VALUES)
def test_login_sends_you_only_to_this_site(world, value):
    client = Client()
    response = client.post(
        "/accounts/login/", {"login": "mira@example.org", "password": "correct horse battery", "next": value}
    )
    assert_redirect_stays_on_site(response, "/accounts/login/", value)
    # Once logged in, visiting the login page redirects at once: the same rule applies.
    response = client.get("/accounts/login/", {"next": value})
    if response.status_code != 200:
        assert_redirect_stays_on_site(response, "/accounts/login/", value)


@pytest.mark.parametrize("value", NEXT_VALUES)
def test_logout_sends_you_only_to_this_site(world, value):
    client = Client()
    client.force_login(world.member)
    response = client.post("/accounts/logout/", {"next": value})
    assert_redirect_stays_on_site(response, "/accounts/logout/", value)


def test_signup_sends_you_only_to_this_site(db, settings):
    settings.ACCOUNT_RATE_LIMITS = False
    for number, value in enumerate(NEXT_VALUES):
        response = Client().post(
            "/accounts/signup/",
            {
                "email": f"new{number}@example.org",
                "username": f"new{number}",
                "password1": "a long unusual passphrase 7",
                "password2": "a long unusual passphrase 7",
                "next": value,
            },
        )
        assert_redirect_stays_on_site(response, "/accounts/signup/", value)


@pytest.mark.parametrize(
    "path",
    [
        "//evil.example",
        "//evil.example/x",
        "/\\evil.example",
        "/%5Cevil.example",
        "/%2F%2Fevil.example",
        "///evil.example",
    ],
)
def test_adding_a_slash_never_leaves_the_site(db, path):
    response = Client().get(path)
    if response.status_code in (301, 302):
        assert_redirect_stays_on_site(response, "/", path)
    else:
        # The test client reads "//host" as a host of its own and asks for our home page.
        assert response.status_code in (200, 404)


def test_our_next_and_back_fields_only_pick_between_our_own_pages(world, conversation):

    resource = factories.resource(
        world.facilitator, world.public, kind="link", title="Scale", url="https://example.org/s", description="A scale."
    )
    client = Client()
    client.force_login(world.facilitator)
    for value in NEXT_VALUES:
        response = client.post(resource.get_absolute_url() + "pin/", {"action": "pin", "next": value})
        assert_redirect_stays_on_site(response, resource.get_absolute_url(), value)
        post = conversation.nested
        response = client.post(f"/p/{post.pk}/hide/", {"reason": "Off topic.", "back": value})
        assert_redirect_stays_on_site(response, f"/p/{post.pk}/hide/", value)
        client.post(f"/p/{post.pk}/unhide/", {"back": value})


# Parameters named like a redirect target, read by our own views, and why each is safe.
KNOWN_PARAMETERS = {
    ("resources/views.py", "next"): "compared with the word 'library' only",
    ("discussions/views/posts.py", "back"): "compared with 'flags' or 'dashboard' only",
    ("discussions/views/threads.py", "to"): "a post id for the reply form, looked up in the thread",
    ("communities/receivers.py", "next"): "never followed: only resolved to find an invitation's token",
}
_READS = re.compile(r"""request\.(?:GET|POST|REQUEST)\.get\(\s*["'](?P<name>[\w-]+)["']""")
REDIRECTISH = {
    "next",
    "back",
    "to",
    "return",
    "return_to",
    "returnto",
    "redirect",
    "redirect_to",
    "url",
    "goto",
    "continue",
}


def test_every_redirect_parameter_is_known():
    root = Path(__file__).resolve().parent.parent
    found = set()
    for app in ("accounts", "communities", "copsite", "digests", "discussions", "resources"):
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for match in _READS.finditer(path.read_text()):
                if match["name"] in REDIRECTISH:
                    found.add((str(path.relative_to(root)), match["name"]))
    unknown = found - KNOWN_PARAMETERS.keys()
    assert not unknown, f"check these redirect-like parameters here, then list them: {sorted(unknown)}"
