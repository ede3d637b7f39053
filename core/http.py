"""Request types the views annotate with (types only: Django hands every view its usual request),
and the headers every stored file is served with."""

from __future__ import annotations

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    """A request that went through django-htmx's middleware: ``request.htmx`` says whether htmx sent it."""

    htmx: HtmxDetails


def harden_file_response(response: HttpResponseBase) -> None:
    """Headers for a file people uploaded: read as the type we say, never run as a page, not kept by shared caches."""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # Files in private communities must not linger in shared caches.
    response["Cache-Control"] = "private, max-age=300"
