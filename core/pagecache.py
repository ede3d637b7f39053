"""Whole-page cache for anonymous visitors, invalidated by generation counters.

What anonymous visitors see is the same for all of them, so the rendered page
is kept in the cache under two generation numbers: the site's, and either the
community's the URL belongs to (`/c/<slug>/…`) or the site-wide lists' (home,
directory, profiles). Every write service says what it changed
(``touched(community)``, or ``touched_everything()`` for a change every page
may show, such as a person's name), which advances the generations after
commit; a stored page is served only while its numbers are still current, so
no stale page survives a reply, edit, hide, pin, move, membership or
visibility change. A request that started before a write read the old
generation, so what it renders is filed under the old one and never served
after the bump. A hit costs one round trip to the cache: the generations and
the page in one read. Changes made in the Django admin empty the whole cache
(core.apps listens to the admin's change log).

Only pages on an explicit allow-list (``CACHEABLE_PAGES``, by URL name) are
cached: public pages addressed by public identifiers that every anonymous
visitor sees alike. Everything else, above all a page whose URL carries a
token (an invitation, a password reset, an unsubscribe link) or whose answer
depends on a session or a form, is rendered for each request: a mail
scanner's fetch of a link must never become the page its addressee gets.
Within the allow-list, only cookie-less GET/HEAD requests are served from or
stored in the cache (no session cookie means nobody is logged in), only 200
HTML responses that set no cookie (pages with a CSRF form set one and are
never cached), and never when the cache is unreachable: the page is simply
rendered.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

if TYPE_CHECKING:
    from core.middleware import GetResponse

log = logging.getLogger(__name__)

# Every page depends on the site generation; site-wide pages (home, directory,
# profiles) also on the lists generation, a community's pages on its own.
SITE_KEY = "pc:gen:site"
LISTS_KEY = "pc:gen:lists"
_COMMUNITY_PATH = re.compile(r"^/c/([-a-zA-Z0-9_]+)/")


# Opt-in by URL name, so a page added later is never cached until someone
# decides it is public and the same for every anonymous visitor. Their URLs
# hold only public identifiers (slug, id, username); tests/test_pagecache.py
# walks every URL pattern of the project to hold both rules.
CACHEABLE_PAGES = frozenset(
    {
        "home",
        "communities:directory",
        "communities:detail",
        "discussions:thread",
        "events:calendar",
        "events:event",
        "resources:library",
        "resources:detail",
        "accounts:profile",
    }
)


def community_key(slug: str) -> str:
    return f"pc:gen:c:{slug}"


def enabled() -> bool:
    return settings.PAGE_CACHE_SECONDS > 0


def _slug_for(path: str) -> str | None:
    match = _COMMUNITY_PATH.match(path)
    return match.group(1) if match else None


def _page_key(request: HttpRequest) -> str:
    parts = [request.method if request.method == "HEAD" else "GET", request.get_full_path()]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"pc:page:{digest}"


# A request carrying any cookie but the CSRF one may be logged in or have a
# flash message waiting: it is rendered, never served from or stored in the cache.
_HARMLESS_COOKIES = {"csrftoken"}


def cacheable_page(request: HttpRequest) -> bool:
    """Whether the URL names a page on the allow-list (resolved here: the view has not run yet)."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return match.view_name in CACHEABLE_PAGES


def cacheable_request(request: HttpRequest) -> bool:
    return (
        enabled()
        and request.method in ("GET", "HEAD")
        and set(request.COOKIES) <= _HARMLESS_COOKIES
        and not request.headers.get("HX-Request")
        and cacheable_page(request)
    )


class AnonymousPageCacheMiddleware:
    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not cacheable_request(request):
            return self.get_response(request)
        slug = _slug_for(request.path)
        generation_keys = [SITE_KEY, community_key(slug) if slug else LISTS_KEY]
        key = _page_key(request)
        try:
            found = cache.get_many([*generation_keys, key])
        except Exception:  # a cache outage must never break the page
            log.warning("page cache unavailable; rendering", exc_info=True)
            return self.get_response(request)
        generations = tuple(found.get(k, 0) for k in generation_keys)
        cached = found.get(key)
        if cached is not None and cached[0] == generations:
            _, status, headers, content = cached
            response = HttpResponse(content, status=status)
            for name, value in headers:
                response[name] = value
            response["X-Page-Cache"] = "hit"
            return response
        response = self.get_response(request)
        if self._storable(request, response):
            headers = [(k, v) for k, v in response.items() if k.lower() in {"content-type", "content-language"}]
            try:
                stored = (generations, response.status_code, headers, response.content)
                cache.set(key, stored, settings.PAGE_CACHE_SECONDS)
            except Exception:  # the page is still served, just not stored
                log.warning("page cache unavailable; not storing", exc_info=True)
            response["X-Page-Cache"] = "miss"
        return response

    @staticmethod
    def _storable(request: HttpRequest, response: HttpResponse) -> bool:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return False
        # The view used a CSRF token (a form): the response will set the CSRF cookie on the way out.
        if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
            return False
        # The page used a CSP nonce: a copy served later would carry a nonce
        # that no longer matches that response's header, and its scripts would not run.
        if getattr(request, "_csp_nonce", None):
            return False
        return (
            response.status_code == 200
            and not response.streaming
            and response.get("Content-Type", "").startswith("text/html")
            # A page that set a cookie (CSRF token for a form, a session) is personal.
            and not response.cookies
            and "no-store" not in response.get("Cache-Control", "")
        )


# --- Invalidation -----------------------------------------------------------------------


def bump(*keys: str) -> None:
    """Advance generations after the current transaction commits."""

    def apply() -> None:
        for key in keys:
            try:
                if cache.add(key, 1, timeout=None) is False:
                    cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=None)
            except Exception:  # with the cache down there is nothing stale to serve
                log.warning("could not bump page cache generation %s", key, exc_info=True)

    transaction.on_commit(apply)


class _Slugged(Protocol):
    """A community as this module knows it (core imports no app): anything with a slug."""

    @property
    def slug(self) -> str: ...


def touched(*communities: _Slugged | str | None) -> None:
    """Say that something anonymous visitors may see changed in these communities (Community or slug).

    Called by every write service (after its changes, inside its transaction;
    the bump itself waits for the commit). Their pages and the site-wide lists
    (home, directory, profiles, sitemaps) are rendered afresh; other
    communities' pages stay cached.
    """
    if not enabled():
        return
    slugs = {c if isinstance(c, str) else c.slug for c in communities if c}
    bump(LISTS_KEY, *(community_key(slug) for slug in sorted(slugs)))


def site_generation() -> tuple[Any, Any]:
    """The generations site-wide lists are filed under (for caches outside the middleware: sitemaps)."""
    found = cache.get_many([SITE_KEY, LISTS_KEY])
    return (found.get(SITE_KEY, 0), found.get(LISTS_KEY, 0))


def touched_everything() -> None:
    """Something every page may show changed (a person's name, a community's name): empty the page cache."""
    if enabled():
        bump(SITE_KEY)
