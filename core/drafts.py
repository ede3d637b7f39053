"""Drafts the browser keeps, and the server's word that one became a post.

static/js/site.js keeps what a person types into a posting form in the
browser's localStorage, under the key the form carries in its ``draft_key``
field, so the text survives a failed submit, a lost connection or a closed
tab. Only the server knows when the text became a post, so only its answer
to a successful submit may end the draft: ``posted()`` names the form's key
in a short-lived cookie on that answer (the redirect after a plain submit,
the fragment after an htmx one). site.js reads the cookie on the next page,
or as the htmx answer arrives, deletes the drafts it names and the cookie
*before* it restores any draft. A page that merely shows a success message
says nothing about a draft (an earlier "success message means posted" rule
put a posted reply back into the box on the next page, and it was posted twice).

A refused submit (a form error, a rate limit, a network failure) sets no
cookie, so the text stays.
"""

from __future__ import annotations

import re
from typing import TypeVar

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

FIELD = "draft_key"
COOKIE = "copsite_posted"
# Keys the templates make: "reply-12-thread", "chat-40", "thread-3", "resource-3", "event-3".
KEY = re.compile(r"[a-z0-9-]{1,60}\Z")
# The page after the redirect reads the cookie at once; a few minutes cover a slow
# load, and several keys cover posts from several tabs before any page read them.
MAX_AGE = 600
MAX_KEYS = 8

Response = TypeVar("Response", bound=HttpResponseBase)


def posted(request: HttpRequest, response: Response) -> Response:
    """Tell the browser that the draft this POST was typed in is now a post; returns ``response``."""
    key = request.POST.get(FIELD, "")
    if not KEY.match(key):
        return response
    earlier = [k for k in request.COOKIES.get(COOKIE, "").split(".") if KEY.match(k) and k != key]
    response.set_cookie(
        COOKIE,
        ".".join([*earlier[-(MAX_KEYS - 1) :], key]),
        max_age=MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=False,  # site.js reads it: it names only a form's key, never its text
        samesite="Lax",
    )
    return response
