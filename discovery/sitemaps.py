"""Sitemaps and robots.txt: what a search engine may list is what an anonymous visitor may read.

Communities: the front pages of open and restricted ones. Threads and resources:
those of open communities only.

Every section asks ``communities.policy`` as an anonymous visitor, whoever
requests the sitemap, so a private community's slug or ids never appear, and
hidden, deleted or removed content is left out. Locations use ``SITE_URL``
(the canonical address the emails use), not the Sites framework's domain.

Each section costs two queries a page (a count and one slice), the index two
per section (a count and the newest change). Rendered sitemaps are kept in
the cache under the page cache's site generation, which every committed
write advances (``core/pagecache.py``), so a community turning private
drops out of the next request; ``Last-Modified`` lets crawlers ask cheaply.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views

# Public in Django (the index view's items), but missing from django-stubs.
from django.contrib.sitemaps.views import SitemapIndexItem  # type: ignore[attr-defined]  # see above
from django.core.cache import cache
from django.db.models import Max, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.http import conditional_page, require_safe

from communities import policy
from communities.models import Community
from core import pagecache
from discussions.models import Thread
from resources.models import Resource

log = logging.getLogger(__name__)


def _listed_communities() -> QuerySet[Community]:
    # Front pages anyone may open: open communities and restricted ones (whose
    # front page shows only the name, domain statement and facilitators). What is
    # inside a restricted one is for members, so the other sections leave it out.
    return policy.listed_communities(AnonymousUser())


class _PublicSitemap(Sitemap):  # unparameterised: Django's Sitemap is not subscriptable at run time
    """Absolute URLs on ``SITE_URL``; ``lastmod_field`` also dates the section in the index."""

    lastmod_field = ""

    def items(self) -> QuerySet[Any]:
        # Each section lists a queryset, which get_latest_lastmod dates with one aggregate.
        raise NotImplementedError

    def get_protocol(self, protocol: str | None = None) -> str:
        return urlsplit(settings.SITE_URL).scheme

    def get_domain(self, site=None) -> str:
        return urlsplit(settings.SITE_URL).netloc

    def lastmod(self, item: Any) -> datetime | None:
        return getattr(item, self.lastmod_field)

    def get_latest_lastmod(self) -> datetime | None:
        # Django's default walks every item; one aggregate answers the same.
        return self.items().aggregate(latest=Max(self.lastmod_field))["latest"]


class CommunitySitemap(_PublicSitemap):
    changefreq = "daily"
    lastmod_field = "last_activity_at"

    def items(self) -> QuerySet[Community]:
        return _listed_communities().only("pk", "slug", "last_activity_at").order_by("pk")


class ThreadSitemap(_PublicSitemap):
    changefreq = "weekly"
    lastmod_field = "last_activity_at"

    def items(self) -> QuerySet[Thread]:
        # A thread whose opening post is hidden or deleted shows no text to visitors: not worth listing.
        return (
            Thread.objects.visible_to(AnonymousUser())
            .filter(policy.readable_posts_q(AnonymousUser(), "opening_post__"), opening_post__isnull=False)
            .select_related("community")
            .only("pk", "last_activity_at", "community__slug")
            .order_by("pk")
        )


class ResourceSitemap(_PublicSitemap):
    changefreq = "monthly"
    lastmod_field = "updated_at"

    def items(self) -> QuerySet[Resource]:
        return (
            Resource.objects.visible_to(AnonymousUser())
            .select_related("community")
            .only("pk", "updated_at", "community__slug")
            .order_by("pk")
        )


SITEMAPS = {"communities": CommunitySitemap, "threads": ThreadSitemap, "resources": ResourceSitemap}


def _cached_by_site_generation(view):
    """Serve the rendered XML from the cache until the next committed write; render afresh if the cache is down."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not pagecache.enabled():
            return view(request, *args, **kwargs)
        try:
            generation = pagecache.site_generation()
            key = "sitemap:" + hashlib.sha256(f"{generation}\n{request.get_full_path()}".encode()).hexdigest()
            cached = cache.get(key)
        except Exception:  # a cache outage must never break the sitemap
            log.warning("cache unavailable; rendering the sitemap", exc_info=True)
            return view(request, *args, **kwargs)
        if cached is not None:
            status, headers, content = cached
            response = HttpResponse(content, status=status)
            for name, value in headers:
                response[name] = value
            return response
        response = view(request, *args, **kwargs)
        if hasattr(response, "render"):
            response.render()
        if response.status_code == 200:
            headers = [(k, v) for k, v in response.items() if k in ("Content-Type", "Last-Modified", "X-Robots-Tag")]
            try:
                cache.set(key, (200, headers, response.content), settings.PAGE_CACHE_SECONDS)
            except Exception:  # served, just not stored
                log.warning("cache unavailable; sitemap not stored", exc_info=True)
        return response

    return wrapped


@require_safe
@conditional_page
@_cached_by_site_generation
def index(request: HttpRequest) -> HttpResponse:
    """Django's index view names sections by the Sites domain; this one by ``SITE_URL``, dated by aggregates."""
    items = []
    for section, sitemap_class in SITEMAPS.items():
        sitemap = sitemap_class()
        location = settings.SITE_URL + reverse("sitemap-section", kwargs={"section": section})
        latest = sitemap.get_latest_lastmod()
        items.append(SitemapIndexItem(location, latest))
        items += [
            SitemapIndexItem(f"{location}?p={page}", latest) for page in range(2, sitemap.paginator.num_pages + 1)
        ]
    dates = [item.last_mod for item in items if item.last_mod]
    headers = {"Last-Modified": http_date(max(dates).timestamp())} if dates else None
    response = TemplateResponse(
        request, "sitemap_index.xml", {"sitemaps": items}, content_type="application/xml", headers=headers
    )
    response["X-Robots-Tag"] = "noindex, noodp, noarchive"
    return response


@require_safe
@conditional_page
@_cached_by_site_generation
def sitemap_section(request: HttpRequest, section: str) -> HttpResponse:
    # Django's view asks for a dict of sitemap classes or instances (a copy: ours names classes only).
    return sitemap_views.sitemap(request, {**SITEMAPS}, section=section)


@require_safe
def robots_txt(request: HttpRequest) -> HttpResponse:
    sitemap_url = settings.SITE_URL + reverse("sitemap")
    return render(request, "robots.txt", {"sitemap_url": sitemap_url}, content_type="text/plain; charset=utf-8")
