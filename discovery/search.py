"""Search across threads, replies and resources of the communities the viewer may see.

PostgreSQL: stored weighted vectors (titles A, bodies B), GIN indexes,
``websearch_to_tsquery`` (accepts any text: quotes, -, OR; never a syntax
error), ranked, with highlighted snippets. SQLite: case-insensitive matching
with the same interface (titles first), for the embedded default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.core.paginator import Paginator
from django.db.models import Case, F, FloatField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.models import Viewer
from communities import policy
from communities import queries as community_queries
from core import ratelimit
from core.search import SEARCH_CONFIG, full_text
from discussions.models import Post, Thread
from resources.models import Resource

MAX_QUERY = 200
PER_PAGE = 20
# Matches ranked per kind (the newest ones); more pages than this hold nothing new.
CANDIDATES = 200
KINDS = {"threads": "Threads", "replies": "Replies", "resources": "Resources"}
# Communities matched by name or domain statement, above the other results on the "All" tab.
COMMUNITIES_SHOWN = 5
# Sentinels that can't appear in stored plain text; escaped output gets <mark> in their place.
_START, _STOP = "\x02", "\x03"


@dataclass
class Hit:
    kind: str
    title: str
    url: str
    community: str
    snippet: SafeString
    rank: float
    at: datetime


def _clean(query: str) -> str:
    query = re.sub(r"[\x00-\x1f\x7f]", " ", query)
    return " ".join(query.split())[:MAX_QUERY]


def _mark(text: str) -> SafeString:
    """Escape the snippet, then turn the sentinels into <mark> (the only markup we add)."""
    return mark_safe(escape(text).replace(_START, "<mark>").replace(_STOP, "</mark>"))  # noqa: S308


def _fallback_snippet(text: str, query: str, width: int = 220) -> SafeString:
    words = [w for w in re.findall(r"\w+", query.lower()) if len(w) > 1]
    lower = text.lower()
    at = min((i for i in (lower.find(w) for w in words) if i >= 0), default=0)
    start = max(0, at - width // 3)
    excerpt = text[start : start + width]
    for word in sorted(set(words), key=len, reverse=True):
        excerpt = re.sub(f"(?i)({re.escape(word)})", _START + r"\1" + _STOP, excerpt)
    return _mark(("…" if start else "") + excerpt + ("…" if start + width < len(text) else ""))


def _ranked(
    qs: QuerySet[Any], query: str, title_field: str | None, body_field: str, body_visible: Q | None = None
) -> QuerySet[Any]:
    if full_text():
        q = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
        # Rank only the newest CANDIDATES matches: a common word matches a
        # quarter of all posts, and ranking all of them took most of a second.
        # PostgreSQL finds them by walking the primary key backwards (common
        # words) or by the GIN index (rare ones); snippets are made for the
        # shown rows only.
        candidates = qs.filter(search_vector=q).order_by("-pk").values("pk")[:CANDIDATES]
        return (
            qs.filter(pk__in=candidates)
            .annotate(
                rank=SearchRank(F("search_vector"), q),
                snippet=SearchHeadline(
                    body_field, q, config=SEARCH_CONFIG, start_sel=_START, stop_sel=_STOP, max_words=35, min_words=15
                ),
            )
            .order_by("-rank", "-pk")
        )
    words = query.split()[:8]
    in_title = Q()
    in_body = Q()
    for word in words:
        if title_field:
            in_title &= Q(**{f"{title_field}__icontains": word})
        in_body &= Q(**{f"{body_field}__icontains": word})
    if body_visible is not None:
        in_body &= body_visible
    match = (in_title | in_body) if title_field else in_body
    rank = (
        Case(When(in_title, then=Value(1.0)), default=Value(0.5), output_field=FloatField())
        if title_field
        else Value(0.5)
    )
    return qs.filter(match).annotate(rank=rank).order_by("-rank", "-pk")


def search_threads(user: Viewer, query: str) -> QuerySet[Thread]:
    qs = Thread.objects.visible_to(user).select_related("community", "opening_post")
    # The opening post's text matches only where the viewer may read it (hidden,
    # held and deleted posts also leave the stored vector).
    return _ranked(qs, query, "title", "opening_post__body_text", policy.readable_posts_q(user, "opening_post__"))


def search_replies(user: Viewer, query: str) -> QuerySet[Post]:
    qs = Post.objects.readable_by(user).filter(depth__gt=0).select_related("thread__community", "author")
    return _ranked(qs, query, None, "body_text")


def search_resources(user: Viewer, query: str) -> QuerySet[Resource]:
    qs = Resource.objects.visible_to(user).select_related("community")
    return _ranked(qs, query, "title", "search_text")


def _hits(user: Viewer, kind: str, rows: Iterable[Any], query: str) -> list[Hit]:
    hits = []
    for row in rows:
        if kind == "threads":
            opening = row.opening_post
            if opening is not None:
                opening.thread = row  # the policy reads the community through it
            readable = opening is not None and policy.can_see_post_content(user, opening)
            body = opening.body_text if readable else ""
            title, url, community, at = row.title, row.get_absolute_url(), row.community.name, row.created_at
        elif kind == "replies":
            body = row.body_text
            title, community, at = f"Reply in “{row.thread.title}”", row.thread.community.name, row.created_at
            url = reverse("discussions:post", kwargs={"pk": row.pk})
        else:
            body = row.search_text
            title, url, community, at = row.title, row.get_absolute_url(), row.community.name, row.created_at
        if hasattr(row, "snippet") and not (kind == "threads" and not body):
            snippet = _mark(row.snippet or "")
        else:
            snippet = _fallback_snippet(body, query)
        hits.append(Hit(kind, title, url, community, snippet, float(row.rank), at))
    return hits


SEARCHERS = {"threads": search_threads, "replies": search_replies, "resources": search_resources}


def search_view(request: HttpRequest) -> HttpResponse:
    query = _clean(request.GET.get("q", ""))
    kind = request.GET.get("kind", "")
    context: dict[str, Any] = {"query": query, "kind": kind, "kinds": KINDS, "page": None, "hits": []}
    if query and (refusal := ratelimit.check(request, "search")):
        # The search page itself, with the query still in its box.
        context["rate_limited"] = refusal.message
        return refusal.stamp(render(request, "discovery/search.html", context))
    if query:
        if kind in SEARCHERS:
            page = Paginator(SEARCHERS[kind](request.user, query), PER_PAGE).get_page(request.GET.get("page"))
            context["page"] = page
            context["hits"] = _hits(request.user, kind, page.object_list, query)
        else:
            # Open and restricted ones (and the viewer's private ones), as the directory lists them:
            # a restricted community is found by its name and domain statement, not by what is inside.
            listed = community_queries.directory(policy.listed_communities(request.user), query)
            context["communities"] = list(listed.only("name", "slug", "domain", "visibility")[:COMMUNITIES_SHOWN])
            hits = []
            for name, searcher in SEARCHERS.items():
                hits += _hits(request.user, name, searcher(request.user, query)[:10], query)
            context["hits"] = sorted(hits, key=lambda h: h.rank, reverse=True)
    return render(request, "discovery/search.html", context)
