"""The anonymous page cache: fast repeat views, never a stale or private page."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import URLResolver, get_resolver
from django.urls.converters import IntConverter, SlugConverter, StringConverter
from django.urls.resolvers import RoutePattern
from django.utils import timezone
from django.utils.regex_helper import normalize

from communities import services as community_services
from communities.models import Invitation, Membership
from core.pagecache import CACHEABLE_PAGES, AnonymousPageCacheMiddleware
from discussions import services
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the writes' on-commit hooks (generation bumps) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def anon_get(path: str):
    return Client().get(path)  # a fresh, cookie-less visitor each time, like a crawler or wrk


def test_second_anonymous_view_is_served_from_the_cache_with_the_same_headers(world, conversation):
    url = conversation.thread.get_absolute_url()
    first, second = anon_get(url), anon_get(url)
    assert first["X-Page-Cache"] == "miss" and second["X-Page-Cache"] == "hit"
    assert first.content == second.content
    for header in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"):
        assert second.has_header(header), header
    assert not second.cookies


# Every write service against the cache: tests/test_pagecache_writes.py.


def test_logged_in_and_flash_message_requests_bypass_the_cache(client, world, conversation):
    url = conversation.thread.get_absolute_url()
    anon_get(url)
    client.force_login(world.member)
    response = client.get(url)
    assert not response.has_header("X-Page-Cache")
    assert "Mira Member" in response.content.decode()


def test_pages_with_forms_are_not_cached(world):
    first = anon_get("/accounts/login/")
    assert "X-Page-Cache" not in first and first.cookies.get("csrftoken")
    assert not anon_get("/accounts/login/").has_header("X-Page-Cache")


def test_cache_can_be_switched_off(world, conversation, settings):
    settings.PAGE_CACHE_SECONDS = 0
    url = conversation.thread.get_absolute_url()
    anon_get(url)
    assert not anon_get(url).has_header("X-Page-Cache")


def test_a_page_rendered_before_a_write_is_never_served_after_it(world, conversation, committed, monkeypatch):
    """The race: a visitor's page renders while a reply commits, and is stored after the bump."""
    from core import pagecache

    url = conversation.thread.get_absolute_url()
    render = pagecache.AnonymousPageCacheMiddleware.__call__

    def reply_commits_mid_render(self, request):
        inner = self.get_response

        def get_response(request):
            response = inner(request)  # the old page, generations read before the write
            with committed():
                services.reply(world.owner, conversation.thread, "Reply that raced the render")
            return response

        self.get_response = get_response
        try:
            return render(self, request)
        finally:
            self.get_response = inner

    monkeypatch.setattr(pagecache.AnonymousPageCacheMiddleware, "__call__", reply_commits_mid_render)
    raced = anon_get(url)
    assert raced["X-Page-Cache"] == "miss" and b"Reply that raced the render" not in raced.content
    monkeypatch.undo()
    after = anon_get(url)
    assert after["X-Page-Cache"] == "miss" and b"Reply that raced the render" in after.content
    assert anon_get(url)["X-Page-Cache"] == "hit"


# --- What may be cached at all --------------------------------------
#
# The cache keeps only the pages on core.pagecache.CACHEABLE_PAGES. The
# tests below walk every URL pattern of the project (ours, allauth's and the
# admin's) from Django's resolver, so a route added later is covered without
# touching this file.

# The URL parameters a cached page may have: names of public things, never a key.
PUBLIC_IDENTIFIERS = {"slug": SlugConverter, "pk": IntConverter, "username": StringConverter}


@dataclass
class Route:
    name: str | None  # "namespace:name"
    parts: list  # the pattern of each level, outermost first

    @property
    def params(self) -> dict[str, object]:
        found: dict[str, object] = {}
        for part in self.parts:
            if isinstance(part, RoutePattern):
                found.update(part.converters)
            else:
                found.update(dict.fromkeys(part.regex.groupindex, "regex"))
        return found

    def __str__(self) -> str:
        return "".join(str(part) for part in self.parts) + f" ({self.name})"


def every_route() -> list[Route]:
    def walk(patterns, parts: list, namespace: str):
        for entry in patterns:
            here = [*parts, entry.pattern]
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, here, inner)
            else:
                yield Route(f"{namespace}{entry.name}" if entry.name else None, here)

    return list(walk(get_resolver().url_patterns, [], ""))


_PARAM = re.compile(r"<(?:[^>:]+:)?(?P<name>[^>]+)>")


def concrete_path(route: Route, values: dict[str, str]) -> str:
    """A URL the route answers, with ``values`` for its parameters."""
    path = ""
    for part in route.parts:
        if isinstance(part, RoutePattern):
            path += _PARAM.sub(lambda m: values[m["name"]], str(part))
        else:  # allauth's keys and the admin's app list: Django's own reading of the regex
            template, params = normalize(part.regex.pattern)[0]
            path += template % {param: values[param] for param in params}
    return "/" + path


@pytest.fixture
def samples(world, conversation):
    """A value for every URL parameter, naming real public objects so the pages answer 200."""
    event = factories.event(world.facilitator, world.public, title="Night rounds chat")
    resource = factories.resource(
        world.facilitator,
        world.public,
        kind="link",
        title="Abbey scale",
        url="https://example.org/abbey",
        description="Pain.",
    )
    invitation = community_services.invite(world.facilitator, world.private, "scanned@example.org")
    values = {
        "slug": "commons",
        "username": world.member.username,
        "token": community_services.invitation_token(invitation),
        "key": "not-a-key",
        "uidb36": "1",
        "section": "threads",
        "membership_id": str(Membership.objects.get(user=world.member, community=world.public).pk),
        "action": "ban",
        "app_label": "communities",
        "object_id": str(world.public.pk),
        "content_type_id": "1",
        "id": str(world.member.pk),
        "url": "anything/",
        "filename": "picture.png",
        "link": "1",
        "version": "1",
        "kind": "resource",
        "thread_id": str(conversation.thread.pk),
        "esp": "mailgun",
        "place_id": "1",
        "beat_id": "1",
        "subgroup": "case-review",
        "user_id": str(world.member.pk),
    }
    ids = {"t/": conversation.thread.pk, "events/": event.pk, "library/": resource.pk, "p/": conversation.answer.pk}

    def values_for(route: Route) -> dict[str, str]:
        route_text = "".join(str(part) for part in route.parts)
        kind = next((k for k in ids if f"{k}<int:pk>" in route_text), None)
        return {**values, "pk": str(ids[kind] if kind else 1)}

    return values_for


def stored(path: str) -> bool:
    from core.pagecache import _page_key

    return cache.get(_page_key(RequestFactory().get(path))) is not None


def test_the_allow_list_names_only_public_pages_addressed_by_public_identifiers():
    routes = {route.name: route for route in every_route() if route.name}
    assert len(routes) > 150  # ours, allauth's and the admin's
    for name in CACHEABLE_PAGES:
        assert name in routes, f"{name} is on the allow-list but is no URL name"
        route = routes[name]
        # Written as path() routes only: no regex that could hide a key.
        assert all(isinstance(part, RoutePattern) for part in route.parts), str(route)
        for param, converter in route.params.items():
            assert param in PUBLIC_IDENTIFIERS, f"{route}: {param} is not a public identifier"
            assert type(converter) is PUBLIC_IDENTIFIERS[param], f"{route}: {param} is read as {converter}"


def test_allow_listed_pages_are_the_same_for_every_anonymous_visitor_and_are_stored(samples, settings):
    routes = [route for route in every_route() if route.name in CACHEABLE_PAGES]
    assert {route.name for route in routes} == CACHEABLE_PAGES
    for route in routes:
        path = concrete_path(route, samples(route))
        settings.PAGE_CACHE_SECONDS = 0
        plain = Client().get(path)
        other = Client(HTTP_USER_AGENT="Other/1.0", HTTP_ACCEPT_LANGUAGE="de", REMOTE_ADDR="203.0.113.9")
        other.cookies["csrftoken"] = "a" * 32
        assert plain.status_code == 200, (str(route), plain.status_code)
        assert other.get(path).content == plain.content, f"{route} differs between anonymous visitors"
        settings.PAGE_CACHE_SECONDS = 300
        assert (anon_get(path)["X-Page-Cache"], anon_get(path)["X-Page-Cache"]) == ("miss", "hit"), str(route)


def test_no_other_page_is_ever_stored_whatever_it_answers(samples):
    """Every route off the list, with a view that answers a perfectly storable page: the middleware keeps none."""

    def storable_page(request):
        return HttpResponse("<p>the same for everyone</p>", content_type="text/html")

    middleware = AnonymousPageCacheMiddleware(storable_page)
    checked = 0
    for route in every_route():
        if route.name in CACHEABLE_PAGES:
            continue
        path = concrete_path(route, samples(route))
        first, second = middleware(RequestFactory().get(path)), middleware(RequestFactory().get(path))
        assert "X-Page-Cache" not in first and "X-Page-Cache" not in second, str(route)
        assert not stored(path), str(route)
        checked += 1
    assert checked > 150
    # The same view at an allow-listed address is stored: the refusal above comes from the route.
    assert middleware(RequestFactory().get("/c/commons/"))["X-Page-Cache"] == "miss"


def test_no_other_route_is_stored_when_fetched_twice_anonymously(samples):
    answered = {}
    for route in every_route():
        if route.name in CACHEABLE_PAGES:
            continue
        path = concrete_path(route, samples(route))
        first, second = anon_get(path), anon_get(path)
        assert "X-Page-Cache" not in first and "X-Page-Cache" not in second, str(route)
        assert not stored(path), str(route)
        answered[route.name] = first.status_code
    # Real pages among them, which the old rules (no cookie, no form) would have stored.
    assert answered["communities:invitation"] == 200
    assert answered["discovery:search"] == answered["discussions:history"] == 200


def test_an_invitation_page_a_mail_scanner_fetched_first_is_the_real_page_for_the_invitee(client, world):
    """Safe Links and the like fetch a link before its addressee does: that fetch must not become their page."""
    invitation = community_services.invite(world.facilitator, world.private, "nadia@example.org")
    path = f"/invitations/{community_services.invitation_token(invitation)}/"
    scanner = anon_get(path)
    assert scanner.status_code == 200 and "You're invited to Zebra Quince Circle" in scanner.content.decode()
    assert not stored(path)
    # Meanwhile the facilitator withdraws it; the invitee, opening the mail, sees what is true now.
    Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())
    invitee = anon_get(path)
    assert "X-Page-Cache" not in invitee
    assert invitee.status_code == 400 and "This invitation has been withdrawn." in invitee.content.decode()
    assert "no-store" in invitee["Cache-Control"]
