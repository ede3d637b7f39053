"""The composer's helpers (static/js/composer.js): a live preview of Markdown and @mention suggestions.

Both answer small fragments to script requests and store nothing. The
preview renders with the very function the text will be saved with, so what
the writer sees beside the box is what the page will show.
"""

from __future__ import annotations

import re

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from communities import policy, queries
from core import ratelimit
from core.markup import MarkupError, render
from discussions.services import render_post
from discussions.views.threads import previewing_too_fast

# What may follow "@" in a mention (discussions.services._MENTION_CANDIDATE), and display-name
# words; longer than any name people type before choosing one.
_MENTION_QUERY = re.compile(r"[\w.+\-]{1,40}")


def _said(message: str, status: int) -> HttpResponse:
    """A sentence composer.js shows as it is (plain text, never markup)."""
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@require_POST
def preview(request: HttpRequest, slug: str) -> HttpResponse:
    """POST text (and ``markup``: "post", the default, or "text" for resource and event descriptions)
    → the HTML the saved text will show. CSRF-checked like every POST."""
    if not request.user.is_authenticated:
        return _said("Log in to preview.", 403)
    community = policy.get_community_or_404(request.user, slug)
    if not policy.can_post(request.user, community):
        return _said("Join the community to preview.", 403)
    # Counted before rendering: rendering is the costly part (hostile Markdown, half a second of CPU).
    if refusal := ratelimit.check(request, "live_preview"):
        return refusal.stamp(_said(previewing_too_fast(refusal, htmx=True), 429))
    text = request.POST.get("text", "")
    if not text.strip():
        html = ""
    else:
        try:
            # Posts link the @mentions of real people; descriptions (resources, events) render plainly.
            html = render(text).html if request.POST.get("markup") == "text" else render_post(text).html
        except MarkupError as exc:
            return _said(str(exc), 400)
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def mentions(request: HttpRequest, slug: str) -> HttpResponse:
    """GET ?q=am → {"people": [{"username": "amara", "name": "Amara Okafor"}, …]}: at most eight
    active members of a community the reader may see (404 for any other, as for a missing one)."""
    if not request.user.is_authenticated:
        return _said("Log in to mention people.", 403)
    if refusal := ratelimit.check(request, "mention"):
        return refusal.stamp(_said(refusal.message, 429))
    query = request.GET.get("q", "").strip().removeprefix("@")
    if not _MENTION_QUERY.fullmatch(query):
        policy.get_community_or_404(request.user, slug)
        people: list[dict[str, str]] = []
    else:
        found = queries.mention_suggestions(
            policy.visible_communities(request.user), slug, query, exclude=request.user.pk
        )
        if found is None:
            raise Http404("No such community.")  # hidden from this reader: the same 404 as a missing one
        people = found or []
    response = JsonResponse(
        {"people": [{"username": p["username"], "name": p["display_name"] or p["username"]} for p in people]}
    )
    response["Cache-Control"] = "private, no-store"
    return response
