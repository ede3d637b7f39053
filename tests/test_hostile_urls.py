"""Hostile ids in every URL (ids of other people's and other communities' objects).

The routes come from the URL resolver itself, so a URL added later is
covered without touching this file. Every parameter of every route (ids,
slugs, tokens, usernames) gets non-numeric, negative, zero, huge, unicode,
NUL and SQL-ish values, by GET and POST, as an anonymous visitor, an
outsider and a facilitator: never a server error (the test client re-raises
one), and only 404, 400 (NUL), 405 (wrong method), 403 (a visible
community refusing the action), 429 (allauth's key rate limit) or a
redirect to the login page.

Then the ids of a private community's objects go under another community's
slug (``/c/commons/t/<private thread>/``) and under no slug at all
(``/p/<private post>/``): the private community's names and words must
appear nowhere in what comes back, body or Location.

Django's admin is left out: its URLs are Django's own and need staff.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from communities.models import Membership
from discussions.models import Post, Thread
from events.models import Event
from resources.models import Resource
from tests import factories

pytestmark = pytest.mark.django_db

_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<regex>[^)]*)\)")


def routes() -> list[tuple[str, str, dict[str, str]]]:
    """(name, template, {parameter: the regex it must match}) of every route with a parameter, admin excepted."""

    def walk(patterns, prefix: str, namespace: str, converters: dict):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace == "admin":
                    continue
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                nested = {**converters, **getattr(entry.pattern, "converters", {})}
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner, nested)
            elif isinstance(entry, URLPattern):
                found = {**converters, **getattr(entry.pattern, "converters", {})}
                yield f"{namespace}{entry.name}", prefix + str(entry.pattern), found

    found = []
    for name, raw, converters in walk(get_resolver().url_patterns, "", "", {}):
        regexes = {param: converter.regex for param, converter in converters.items()}
        # Regex routes (allauth's keys): drop the anchors, keep named groups as "<name>".
        regexes.update({m["name"]: m["regex"] for m in _REGEX_GROUP.finditer(raw)})
        template = _REGEX_GROUP.sub(lambda m: "<" + m["name"] + ">", raw).replace("^", "").replace("$", "")
        template = _PARAM.sub(lambda m: "<" + m["name"] + ">", template)
        if regexes:
            found.append((name, "/" + template, regexes))
    return found


ROUTES = routes()

HOSTILE_VALUES = [
    "abc",
    "-1",
    "0",
    str(2**63),
    str(10**30),
    "٣",
    "ünïcødé",
    "\x00",
    "1' OR '1'='1",
    "..",
    "%2F",
]
# Enough to tell a legitimate page of the private community from a 404.
SECRETS = [b"Zebra", b"Quince", b"Xylophone", b"Yak canary", b"Quokka", b"Wombat", b"Narwhal", b"/c/circle/"]
ALLOWED_STATUSES = {400, 403, 404, 405, 429}
# Routes whose answer to a bad key is a page saying so (allauth's own), not a 404.
ANSWER_WITH_A_PAGE = {"account_confirm_email", "account_reset_password_from_key"}


def fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"<(\w+)>", lambda m: quote(values[m[1]], safe=""), template)


def assert_refused_cleanly(response, url: str, *, page_allowed: bool = False) -> None:
    if page_allowed and response.status_code == 200:
        pass
    elif response.status_code == 302:
        assert response["Location"].startswith("/accounts/login/"), (url, response["Location"])
    else:
        assert response.status_code in ALLOWED_STATUSES, (url, response.status_code)
    for secret in SECRETS:
        assert secret not in response.content, (url, secret)
        assert secret.decode() not in response.get("Location", ""), (url, secret)


_COMMUNITY_OF = {Thread: "community", Post: "thread__community", Resource: "community", Event: "community"}


@pytest.fixture
def private_objects(world, conversation, make_user):
    """Objects of the private community 'circle', plus a member of the public community only."""
    resource = factories.resource(
        world.facilitator,
        world.private,
        kind="link",
        title="Wombat ledger",
        url="https://example.org/w",
        description="Wombat.",
    )
    event = factories.event(
        world.facilitator, world.private, title="Narwhal evening", questions=[(5, "Narwhal question?")]
    )
    public_only = make_user("pia", display_name="Pia Public")
    factories.membership(public_only, world.public)
    membership = Membership.objects.get(user=world.member, community=world.private)
    ids = {
        conversation.private_thread.pk,
        conversation.private_thread.opening_post.pk,
        resource.pk,
        event.pk,
        membership.pk,
    }
    # An id that also names a visible object elsewhere would rightly show that object.
    visible = set()
    for model in (Thread, Post, Resource, Event):
        visible |= set(model.objects.exclude(**{_COMMUNITY_OF[model]: world.private}).values_list("pk", flat=True))
    visible |= set(Membership.objects.exclude(community=world.private).values_list("pk", flat=True))
    return sorted(str(i) for i in ids - visible), public_only


def test_the_routes_are_found():
    names = {name for name, _, _ in ROUTES}
    assert {"discussions:thread", "discussions:post", "resources:detail", "accounts:profile"} <= names
    assert "account_reset_password_from_key" in names


@pytest.mark.parametrize(("name", "template", "params"), ROUTES, ids=[r[0] for r in ROUTES])
def test_hostile_ids_are_refused_cleanly(world, name, template, params):
    """Values the route's converter rejects are the resolver's 404; the rest reach the view, by GET and POST."""
    anonymous, facilitator = Client(), Client()
    # A facilitator gets further into facilitator-only views before the id is looked up.
    facilitator.force_login(world.facilitator)
    defaults = {p: ("commons" if p == "slug" else "1") for p in params}
    for param, regex in params.items():
        for value in HOSTILE_VALUES:
            url = fill(template, {**defaults, param: value})
            if not re.fullmatch(regex, value):
                assert anonymous.get(url).status_code in (400, 404), url
                continue
            for label, client in (("anonymous", anonymous), ("facilitator", facilitator)):
                for method in (client.get, client.post):
                    response = method(url)
                    assert_refused_cleanly(
                        response, f"{method.__name__} {url} as {label}", page_allowed=name in ANSWER_WITH_A_PAGE
                    )


CROSS_ROUTES = [r for r in ROUTES if {"pk", "membership_id"} & r[2].keys()]


@pytest.mark.parametrize(("name", "template", "params"), CROSS_ROUTES, ids=[r[0] for r in CROSS_ROUTES])
def test_another_communitys_ids_show_nothing_of_it(world, private_objects, name, template, params):
    ids, public_only = private_objects
    pia, flo = Client(), Client()
    pia.force_login(public_only)  # a member of the public community only
    flo.force_login(world.other_facilitator)  # facilitates "elsewhere", another private community
    for slug, visitors in (("commons", {"anonymous": Client(), "pia": pia}), ("elsewhere", {"flo": flo})):
        for object_id in ids:
            url = fill(template, {p: (slug if p == "slug" else object_id) for p in params})
            for label, client in visitors.items():
                assert_refused_cleanly(client.get(url), f"GET {url} as {label}")
                if label != "anonymous":
                    assert_refused_cleanly(client.post(url), f"POST {url} as {label}")


@pytest.mark.parametrize(
    "url", ["/c/?q=%00", "/search/?q=a&kind=%00", "/u/%00/", "/calendar/%00.ics", "/c/commons/?tag=%00"]
)
def test_a_nul_in_a_url_is_a_bad_request_not_a_server_error(client, world, url):
    # PostgreSQL can't hold NUL: before core.middleware.RejectNulMiddleware these were 500s there.
    assert client.get(url).status_code == 400
