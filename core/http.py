"""Request types the views annotate with (types only: Django hands every view its usual request),
and the headers every stored file is served with."""

from __future__ import annotations

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.http import url_has_allowed_host_and_scheme
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


def next_url(request: HttpRequest, default: str) -> str:
    """The ``next`` the form or link asked for when it is a page of this site (never another host), else ``default``."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return default
